"""The clients' event-mix load test: 500 concurrent users, 100 posts; each user sends
CLICK / PAGE_VIEW / SEARCH / LIKE events at random (user ids 1..100, its own session id,
componentId 1000..2000, elementId element-1..50, SEARCH keyword-1..10, LIKE postId 1..10),
about one per second.

    locust/run.sh events [--users 500 --minutes 5]
"""

import random

from locust import FastHttpUser, task

import tracker_load


class EventMixUser(FastHttpUser):
    wait_time = tracker_load.user_wait_time()

    def on_start(self):
        self.session_id = tracker_load.new_session_id()

    @task
    def send_event(self):
        if not tracker_load.sending_allowed():
            return
        event = tracker_load.mix_event()
        event["sessionId"] = self.session_id
        event["metadata"]["page"] = f"/posts/{random.randint(1, 100)}"
        tracker_load.TALLY.sending()
        self.client.post("/api/events", json=event, headers=tracker_load.WRITE_HEADERS, name=f"/api/events [{event['eventType']}]",
                         context={"event": event})
