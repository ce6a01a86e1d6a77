-- wrk script: POSTs one constant CLICK event (the example of docs/API.md) to the URL given,
-- the same bytes for every request and every system bench/compare.sh measures.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"eventType":"CLICK","userId":42,"sessionId":"session-3f1c",' ..
           '"metadata":{"componentId":1002,"elementId":"element-7","keyword":null,"postId":null}}'
