"""The user-facing service's load test: like toggles (userId 1..100, postId 1..1000),
searches by hashtag keyword, and CLICK / PAGE_VIEW events forwarded on /api/users/events,
about one request per user per second.

Posts: LT_POST_RANGE=A..B uses existing posts A..B; otherwise LT_POSTS posts (default
1000) are created with hashtags tag1..tagLT_KEYWORDS (default 20) at the start, and the like toggles
go to those. LT_USER_IDS (default 100) is the range of user ids.

    locust/run.sh users [--users 100 --minutes 5]
"""

from locust import events

import user_mix

user_mix.configure(user_ids=100, posts=1000)


@events.test_start.add_listener
def _seed(environment, **_):
    user_mix.prepare(environment)


class UserServiceUser(user_mix.UserMix):
    pass
