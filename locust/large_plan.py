"""The large plan: the user-service mix over 2,000,000 posts and 100,000 users, sustained
for 10 to 30 minutes. locust/run.sh large seeds the posts first with the native load
generator (tools/loadgen) and passes their ids as LT_POST_RANGE; LT_POSTS and LT_USER_IDS
change the sizes.

    locust/run.sh large [--users 1000 --minutes 10]
"""

from locust import events

import user_mix

user_mix.configure(user_ids=100_000, posts=2_000_000)


@events.test_start.add_listener
def _seed(environment, **_):
    user_mix.prepare(environment)


class LargePlanUser(user_mix.UserMix):
    pass
