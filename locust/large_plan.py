"""The large plan: the user-service mix over 2,000,000 posts and 100,000 users, sustained
for 10 to 30 minutes. locust/run.sh large seeds the run's database first with
tools/seed_dataset.sh (users 1..100000, posts with hashtags tag1..tag500) and passes the
post ids as LT_POST_RANGE; LT_POSTS, LT_USER_IDS and LT_KEYWORDS change the sizes.

    locust/run.sh large [--users 1000 --minutes 10]
"""

from locust import events

import user_mix

user_mix.configure(user_ids=100_000, posts=2_000_000, keywords=500)


@events.test_start.add_listener
def _seed(environment, **_):
    user_mix.prepare(environment)


class LargePlanUser(user_mix.UserMix):
    pass
