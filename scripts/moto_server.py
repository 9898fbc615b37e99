"""moto_server for the test suite: IAM, STS and sso-admin on 127.0.0.1 (DynamoDB is DynamoDB Local's).

moto's ProvisionPermissionSet answers SUCCEEDED at once and it has no
DescribePermissionSetProvisioningStatus; Identity Center answers IN_PROGRESS first. This server
answers both as Identity Center does: ProvisionPermissionSet (passed on to moto, so that it records
the accounts) reports IN_PROGRESS under a new request id, and each status call of that id reports
the next entry of the script the permission set had when it was provisioned, the last one staying
(a provisioning that ended stays ended); without a script the first status call reports SUCCEEDED.
A test sets a script per permission set with POST /_test/provisioning ({"<permission set ARN>":
[{"Status": "IN_PROGRESS"|"SUCCEEDED"|"FAILED", "FailureReason": "..."}, ...]}). A request id this
server did not hand out is a ResourceNotFoundException, as Identity Center's.

It counts IAM writes and AssumeRole calls per role (GET /_test/calls) so tests can assert
"exactly one PutRolePolicy", and can inject IAM and STS errors (POST /_test/faults) for error
tests. Requests are served one at a time, so that counts and faults are exact.

Usage: python scripts/moto_server.py PORT
"""
import collections
import io
import json
import sys
import threading
import uuid
from urllib.parse import parse_qs

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import WSGIRequestHandler, run_simple

lock = threading.Lock()
calls = collections.Counter()
# "Action:RoleName" (AssumeRole: "AssumeRole:RoleArn") -> {"status": 400, "code": "AccessDenied", "message": "...", "times": n}
faults = {}
provisioning = {}  # permission set ARN -> scripted states, first first
provision_requests = {}  # request id -> {"arn": permission set ARN, "script": states still to report}
moto_app = DomainDispatcherApplication(create_backend_app)

FAULT_XML = """<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type>
<Code>{code}</Code><Message>{message}</Message></Error><RequestId>fault-injected</RequestId></ErrorResponse>"""


def respond(start_response, status, body, content_type="application/json"):
    data = body.encode()
    start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(data)))])
    return [data]


def app(environ, start_response):
    path = environ.get("PATH_INFO", "")
    length = int(environ.get("CONTENT_LENGTH") or 0)
    raw = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(raw)
    with lock:
        if path == "/_test/calls":
            return respond(start_response, "200 OK", json.dumps(calls))
        if path == "/_test/faults":
            faults.clear()
            faults.update(json.loads(raw or b"{}"))
            return respond(start_response, "200 OK", "{}")
        if path == "/_test/provisioning":
            provisioning.update(json.loads(raw or b"{}"))
            return respond(start_response, "200 OK", "{}")
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if target.endswith(".DescribePermissionSetProvisioningStatus"):
            request_id = json.loads(raw or b"{}").get("ProvisionPermissionSetRequestId", "")
            started = provision_requests.get(request_id)
            calls[f"DescribePermissionSetProvisioningStatus:{started['arn'] if started else ''}"] += 1
            if started is None:
                error = {"__type": "ResourceNotFoundException", "Message": f"no provisioning request {request_id}"}
                return respond(start_response, "400 Bad Request", json.dumps(error), "application/x-amz-json-1.1")
            script = started["script"]
            step = script.pop(0) if len(script) > 1 else (script[0] if script else {"Status": "SUCCEEDED"})
            body = provisioning_status(started["arn"], request_id, step)
            return respond(start_response, "200 OK", json.dumps(body), "application/x-amz-json-1.1")
        if target.endswith(".ProvisionPermissionSet"):
            arn = json.loads(raw or b"{}").get("PermissionSetArn", "")
            calls[f"ProvisionPermissionSet:{arn}"] += 1
            status = []
            answered = list(moto_app(environ, lambda s, h, *a: status.append(s)))
            if not status or not status[0].startswith("200"):
                # moto refused it (no such permission set...): its answer as it gave it.
                return respond(start_response, status[0] if status else "500 Error", b"".join(answered).decode(), "application/x-amz-json-1.1")
            request_id = str(uuid.uuid4())
            provision_requests[request_id] = {"arn": arn, "script": provisioning.pop(arn, [])}
            body = provisioning_status(arn, request_id, {"Status": "IN_PROGRESS"})
            return respond(start_response, "200 OK", json.dumps(body), "application/x-amz-json-1.1")
        form = parse_qs(raw.decode("utf-8", "replace")) if b"Action=" in raw else {}
        action = form.get("Action", [""])[0]
        role = form.get("RoleName", form.get("RoleArn", [""]))[0]
        key = f"{action}:{role}"
        fault = faults.get(key)
        if fault and fault.get("times", 1) > 0:
            fault["times"] = fault.get("times", 1) - 1
            calls[f"fault:{key}"] += 1
            return respond(
                start_response,
                f"{fault.get('status', 400)} Error",
                FAULT_XML.format(code=fault["code"], message=fault.get("message", fault["code"])),
                "text/xml",
            )
        if action in ("PutRolePolicy", "DeleteRolePolicy", "AssumeRole"):
            calls[key] += 1
        # Consume the response inside the lock so moto's work is finished before the next request.
        return list(moto_app(environ, start_response))


def provisioning_status(arn, request_id, step):
    status = {"Status": step["Status"], "RequestId": request_id, "PermissionSetArn": arn}
    if "FailureReason" in step:
        status["FailureReason"] = step["FailureReason"]
    return {"PermissionSetProvisioningStatus": status}


class Handler(WSGIRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_request(self, *args, **kwargs):
        pass


if __name__ == "__main__":
    run_simple("127.0.0.1", int(sys.argv[1]), app, threaded=True, request_handler=Handler)
