"""The data-set command (tools/seed_dataset.sh) on a database of the test's own: stages
split over several sessions, the search ranking's key dropped and built once, the ranking
equal to the posts afterwards, a second run adding nothing, and the one-call procedure
mending a key that an interrupted seeding left dropped."""

import os
import subprocess

import psycopg2
import pytest

from support import REPO_ROOT

SEED = REPO_ROOT / "tools/seed_dataset.sh"


def seed(dsn, *stages, users=40, sessions=3):
    env = dict(os.environ, TRACKER_PG_DSN=dsn, USERS=str(users), SEED_SESSIONS=str(sessions))
    run = subprocess.run([str(SEED), *map(str, stages)], capture_output=True, text=True, timeout=300,
                         stdin=subprocess.DEVNULL, env=env)
    assert run.returncode == 0, f"seed_dataset.sh failed:\n{run.stdout}\n{run.stderr}"
    return run.stdout


@pytest.fixture
def db(private_database):
    connection = psycopg2.connect(private_database, connect_timeout=10)
    connection.autocommit = True
    yield connection
    connection.close()


def value(db, sql, *params):
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def ranking_differences(db):
    """Rows in post_hashtags but not derived from posts, plus the reverse."""
    return value(db, """
        with expected as (
            select hashtextextended(t.tag, 0) as tag_hash, t.tag as hashtag, p.like_count, p.created_at,
                   p.id as post_id
            from posts p, unnest(p.hashtags) as t(tag)
            where p.visibility = 'PUBLIC'),
        actual as (select tag_hash, hashtag, like_count, created_at, post_id from post_hashtags)
        select (select count(*) from (select * from actual except all select * from expected) a)
             + (select count(*) from (select * from expected except all select * from actual) b)""")


def test_stages_in_parts_fill_users_posts_and_ranking(private_database, db):
    out = seed(private_database, 200, 700, 1500)
    for stage in ("200", "700", "1500", "ranking", "statistics", "vacuum", "total"):
        assert any(line.split()[:1] == [stage] for line in out.splitlines()), f"no '{stage}' line in:\n{out}"

    assert value(db, "select count(*) from users") == 40
    assert value(db, "select count(*) from posts") == 1500
    # Each stage numbers its n posts 1..n (in their image URLs) across its parts: no number
    # twice, none missing. Stages run one after another, so their ids follow each other.
    with db.cursor() as cursor:
        cursor.execute("""
            with numbered as (
                select substring(image_urls[1] from '/posts/([0-9]+)[.]jpg$')::int as n,
                       row_number() over (order by id) as k
                from posts)
            select case when k <= 200 then 200 when k <= 700 then 500 else 800 end as added,
                   count(*), count(distinct n), min(n), max(n)
            from numbered group by 1 order by 1""")
        assert cursor.fetchall() == [(200, 200, 200, 1, 200), (500, 500, 500, 1, 500), (800, 800, 800, 1, 800)]
    assert value(db, "select count(*) from posts where user_id not between 1 and 40") == 0
    assert value(db, """select count(*) from posts
                        where cardinality(hashtags) not between 1 and 4
                           or cardinality(hashtags) <> (select count(distinct t) from unnest(hashtags) t)
                           or not hashtags <@ array(select 'tag' || g from generate_series(1, 500) g)""") == 0
    assert ranking_differences(db) == 0
    assert value(db, "select to_regclass('post_hashtags_pkey') is not null")

    # The ranking answers searches in order: most liked, then newest.
    tag = value(db, "select hashtags[1] from posts order by id limit 1")
    with db.cursor() as cursor:
        cursor.execute("select id from search_posts(%s, 10)", (tag,))
        found = [row[0] for row in cursor.fetchall()]
        cursor.execute("""select id from posts where %s = any(hashtags)
                          order by like_count desc, created_at desc, id desc limit 10""", (tag,))
        assert found == [row[0] for row in cursor.fetchall()]


def test_a_second_run_adds_nothing_and_a_small_top_up_keeps_the_key(private_database, db):
    seed(private_database, 600)
    seed(private_database, 600)
    assert value(db, "select count(*) from posts") == 600
    seed(private_database, 650)  # less than doubling: the key stays and takes the new rows
    assert value(db, "select count(*) from posts") == 650
    assert value(db, "select to_regclass('post_hashtags_pkey') is not null")
    assert ranking_differences(db) == 0


def test_the_procedure_builds_a_key_left_dropped(private_database, db):
    seed(private_database, 300)
    assert value(db, "select seed_ranking_key(false)")  # as an interrupted seeding leaves it
    assert value(db, "select to_regclass('post_hashtags_pkey') is null")
    with db.cursor() as cursor:
        cursor.execute("call seed_dataset(40, 320)")
    assert value(db, "select count(*) from posts") == 320
    assert value(db, "select to_regclass('post_hashtags_pkey') is not null")
    assert ranking_differences(db) == 0
