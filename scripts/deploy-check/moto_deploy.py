"""Deploy deploy/*.yaml into moto's CloudFormation and run `revoke-role-bot check-config` against it.

What it shows (each failure is printed as `FAIL ...` and makes the exit status 1):
- bot.yaml creates in Socket Mode and in HTTP mode (with an ACM certificate), target-account.yaml in a
  second account, alarms.yaml next to the bot;
- the table the stack made has exactly the keys and indexes the bot uses (`check-config` says so, with
  the environment the stack's task definition gives the container: in Socket Mode no signing secret);
- check-config reaches the target account through the role target-account.yaml made;
- the alarm rules match what is not the bot's normal work (a PutRolePolicy of any other policy name, any
  other IAM write, an Identity Center write other than the permission-set cut-off and its provisioning, a
  delete of its own policy when CleanupAfterWindow is false) and not its normal work.

moto does not evaluate IAM policies, resolves AWS::Partition as `aws` and skips resource types it
does not know (AWS::IAM::RolePolicy, AWS::SNS::TopicPolicy, AWS::CloudWatch::Alarm, ...); the IAM
policies are checked by simulate.mjs instead. Slack is a tiny fake that answers auth.test.

Usage: python moto_deploy.py MOTO_ENDPOINT BOT_BINARY WORK_DIR
"""
import json
import os
import re
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlparse

import boto3
from cfnlint.decode import decode_str

from checks import check, failures

REPO = Path(__file__).resolve().parents[2]
REGION = "eu-west-1"
BOT_ACCOUNT = "123456789012"
TARGET_ACCOUNT = "222222222222"
EXTERNAL_ID = "f00dfeedf00dfeedf00dfeedf00dfeedf00dfeedf00dfeed"



def session(endpoint, creds=None):
    creds = creds or {"AccessKeyId": "testing", "SecretAccessKey": "testing", "SessionToken": None}
    s = boto3.session.Session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds.get("SessionToken"),
        region_name=REGION,
    )
    return lambda service: s.client(service, endpoint_url=endpoint)


def deploy(client, name, template, params):
    cfn = client("cloudformation")
    cfn.create_stack(
        StackName=name,
        TemplateBody=(REPO / "deploy" / template).read_text(),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in params.items()],
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"],
    )
    for _ in range(100):
        stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
        if not stack["StackStatus"].endswith("IN_PROGRESS"):
            break
        time.sleep(0.1)
    ok = stack["StackStatus"] == "CREATE_COMPLETE"
    reasons = ""
    if not ok:
        events = cfn.describe_stack_events(StackName=name)["StackEvents"]
        reasons = "\n".join(
            f"{e['LogicalResourceId']}: {e['ResourceStatus']} {e.get('ResourceStatusReason', '')}" for e in events
        )
    check(ok, f"{template} ({name}) creates: {stack['StackStatus']}", reasons)
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


class FakeSlack(BaseHTTPRequestHandler):
    """auth.test with the bot token, apps.connections.open with the app token; anything else invalid_auth."""

    def do_GET(self):  # noqa: N802
        token = self.headers.get("Authorization")
        path = urlparse(self.path).path
        if path.endswith("/auth.test") and token == "Bearer xoxb-deploy-check":
            body = {"ok": True, "user_id": "U0BOT", "team_id": "T0TEAM", "team": "Deploy Check",
                    "user": "revoke-role-bot", "url": "https://deploy-check.slack.com/"}
        elif path.endswith("/apps.connections.open") and token == "Bearer xapp-deploy-check":
            body = {"ok": True, "url": "wss://127.0.0.1:9/link/?ticket=deploy-check"}
        else:
            body = {"ok": False, "error": "invalid_auth"}
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_POST = do_GET

    def log_message(self, *args):
        pass


def task_environment(client, task_definition_arn, slack_url):
    """The container's environment as ECS would give it: its Environment plus every secret it names (the Slack
    keys faked, an SSM parameter read from moto's SSM as ECS reads it: by ARN)."""
    td = client("ecs").describe_task_definition(taskDefinition=task_definition_arn)["taskDefinition"]
    (container,) = td["containerDefinitions"]
    env = {e["name"]: e["value"] for e in container.get("environment", [])}
    fake = {"SLACK_BOT_TOKEN": "xoxb-deploy-check", "SLACK_APP_TOKEN": "xapp-deploy-check",
            "SLACK_SIGNING_SECRET": "deploy-check-signing-secret"}
    # moto keeps the None that AWS::NoValue leaves in a list; CloudFormation drops it.
    names = [s["name"] for s in container.get("secrets", []) if s is not None]
    for secret in container.get("secrets", []):
        if secret is None:
            continue
        if ":ssm:" in secret["valueFrom"]:
            param = secret["valueFrom"].split(":parameter", 1)[1]
            env[secret["name"]] = client("ssm").get_parameter(Name=param)["Parameter"]["Value"]
        else:
            env[secret["name"]] = fake[secret["name"]]
    env["SLACK_API_URL"] = slack_url
    return env, names, container


# Whether this bot reads REVOKE_ROLE_BOT_CONFIG_TOML (the config text, as the task definition passes it). Until
# it does, the same text is given as a file, and the output says so.
READS_CONFIG_TOML = "REVOKE_ROLE_BOT_CONFIG_TOML" in "".join(
    p.read_text() for p in (REPO / "src").rglob("*.rs"))


def run_check_config(binary, env, endpoint, work):
    """`check-config` with the container's environment: the config only in REVOKE_ROLE_BOT_CONFIG_TOML."""
    run_env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_EC2_METADATA_DISABLED": "true",
        "RUST_LOG": "warn",
        **env,
    }
    args = [binary, "check-config"]
    if not READS_CONFIG_TOML:
        config = work / "config-from-parameter.toml"
        config.write_text(run_env.pop("REVOKE_ROLE_BOT_CONFIG_TOML", ""))
        args += ["--config", str(config)]
    return subprocess.run(args, env=run_env, capture_output=True, text=True, timeout=60)


def check_config(binary, env, endpoint, work, what):
    out = run_check_config(binary, env, endpoint, work)
    text = out.stdout + out.stderr
    table_ok = re.search(r"^ok +dynamodb:.* table ", out.stdout, re.M) is not None
    check(out.returncode == 0 and table_ok, f"check-config passes ({what})", text)
    return out.stdout


def config_text(table_name):
    return f"""
listen = "0.0.0.0:3000"
[audit]
table = "{table_name}"
[access]
requesters = ["U0ALICE", "U0BOB"]
approvers = ["U0ALICE", "U0BOB", "U0CAROL"]
[roles]
allow = ["arn:aws:iam::*:role/*"]
[[accounts]]
id = "{BOT_ACCOUNT}"
name = "bot"
[[accounts]]
id = "{TARGET_ACCOUNT}"
name = "target"
assume_role_arn = "arn:aws:iam::{TARGET_ACCOUNT}:role/revoke-role-bot-target"
external_id = "{EXTERNAL_ID}"
"""


def main():
    endpoint, binary, work = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    work.mkdir(parents=True, exist_ok=True)
    bot = session(endpoint)

    slack = ThreadingHTTPServer(("127.0.0.1", 0), FakeSlack)
    threading.Thread(target=slack.serve_forever, daemon=True).start()
    slack_url = f"http://127.0.0.1:{slack.server_address[1]}/api"

    ec2 = bot("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.9.{i}.0/24", AvailabilityZone=f"{REGION}{az}")["Subnet"]["SubnetId"]
        for i, az in ((1, "a"), (2, "b"))
    ]
    secret = bot("secretsmanager").create_secret(
        Name="revoke-role-bot/slack",
        SecretString=json.dumps({"SLACK_BOT_TOKEN": "xoxb-x", "SLACK_APP_TOKEN": "xapp-x"}),
    )["ARN"]
    common = {"VpcId": vpc, "SubnetIds": ",".join(subnets), "SlackSecretArn": secret,
              "ImageUri": f"{BOT_ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/revoke-role-bot:1"}

    # The config goes into its SSM parameter before the stack (deploy/README.md): every value it needs is
    # known beforehand (the table's name is a stack parameter, the target role's name is fixed).
    ssm = bot("ssm")
    for name, table_name in (("/revoke-role-bot/config", "revoke-role-bot-audit"),
                             ("/revoke-role-bot-http/config", "revoke-role-bot-audit-http")):
        ssm.put_parameter(Name=name, Type="String", Value=config_text(table_name))

    socket_out = deploy(bot, "revoke-role-bot", "bot.yaml", {**common, "UseSocketMode": "true"})
    cert = bot("acm").request_certificate(DomainName="bot.example.com", ValidationMethod="DNS")["CertificateArn"]
    http_out = deploy(bot, "revoke-role-bot-http", "bot.yaml",
                      {**common, "CertificateArn": cert, "TableName": "revoke-role-bot-audit-http",
                       "ConfigParameterName": "/revoke-role-bot-http/config"})

    # The second account, through a role moto hands out for it.
    creds = bot("sts").assume_role(RoleArn=f"arn:aws:iam::{TARGET_ACCOUNT}:role/OrganizationAccountAccessRole",
                                   RoleSessionName="stacksets")["Credentials"]
    target = session(endpoint, creds)
    target_out = deploy(target, "revoke-role-bot-target", "target-account.yaml",
                        {"BotRoleArn": socket_out.get("TaskRoleArn", ""), "ExternalId": EXTERNAL_ID})
    alarms_out = deploy(bot, "revoke-role-bot-alarms", "alarms.yaml",
                        {"WatchedRoleNames": socket_out.get("TaskRoleName", "")})
    deploy(bot, "revoke-role-bot-alarms-cleanup", "alarms.yaml",
           {"WatchedRoleNames": socket_out.get("TaskRoleName", ""), "CleanupAfterWindow": "true"})
    if failures:
        return
    # moto's CloudFormation skips PointInTimeRecoverySpecification; apply what the template asks for, as
    # CloudFormation does (policies.py checks that it asks for it).
    template, _ = decode_str((REPO / "deploy" / "bot.yaml").read_text())
    pitr = template["Resources"]["AuditTable"]["Properties"]["PointInTimeRecoverySpecification"]
    for out in (socket_out, http_out):
        bot("dynamodb").update_continuous_backups(TableName=out["AuditTableName"],
                                                   PointInTimeRecoverySpecification=dict(pitr))
    # A target account has roles of its own besides the bot's: one for check-config to try its reads on.
    target("iam").create_role(RoleName="app-deployer", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}))
    check(target_out.get("TargetRoleArn") == f"arn:aws:iam::{TARGET_ACCOUNT}:role/revoke-role-bot-target",
          "target-account.yaml makes the role the config names before the stack exists", target_out)
    if not READS_CONFIG_TOML:
        print("     (this bot does not read REVOKE_ROLE_BOT_CONFIG_TOML yet: check-config gets the parameter's text "
              "as --config FILE)")

    # The table: exactly the keys and indexes the bot uses (src/aws/dynamodb.rs, README).
    table = bot("dynamodb").describe_table(TableName=socket_out["AuditTableName"])["Table"]
    keys = lambda schema: [(k["AttributeName"], k["KeyType"]) for k in schema]  # noqa: E731
    got = {
        "table": keys(table["KeySchema"]),
        "indexes": {i["IndexName"]: (keys(i["KeySchema"]), i["Projection"]["ProjectionType"])
                    for i in table.get("GlobalSecondaryIndexes", [])},
        "billing": table.get("BillingModeSummary", {}).get("BillingMode"),
    }
    want = {
        "table": [("pk", "HASH"), ("sk", "RANGE")],
        "indexes": {
            name: ([(h, "HASH"), (r, "RANGE")], "ALL")
            for name, h, r in (("by_role", "role_arn", "created_at"), ("by_actor", "actor", "at"),
                               ("by_time", "kind", "created_at"), ("by_open_state", "open_state", "expires_at"),
                               ("by_watch", "watch_state", "watch_due"))
        },
        "billing": "PAY_PER_REQUEST",
    }
    check(got == want, "the stack's table has exactly the bot's keys and indexes", f"got  {got}\nwant {want}")
    # moto ignores deletion protection (a protected table still deletes), but it reports the setting.
    check(table.get("DeletionProtectionEnabled") is False,
          "the first create leaves the table unprotected (a rollback can remove it)",
          table.get("DeletionProtectionEnabled"))

    # check-config, with the environment each task definition gives the container.
    for out, mode in ((socket_out, "Socket Mode"), (http_out, "HTTP")):
        env, secrets, container = task_environment(bot, out["TaskDefinitionArn"], slack_url)
        if mode == "Socket Mode":
            check("SLACK_SIGNING_SECRET" not in secrets and "SLACK_APP_TOKEN" in secrets,
                  "Socket Mode: the task gets SLACK_APP_TOKEN and no signing secret", secrets)
        else:
            check("SLACK_SIGNING_SECRET" in secrets and "SLACK_APP_TOKEN" not in secrets,
                  "HTTP: the task gets the signing secret and no SLACK_APP_TOKEN", secrets)
        health = container.get("healthCheck", {}).get("command")
        check(health == ["CMD", "/usr/local/bin/revoke-role-bot", "health"],
              f"{mode}: the container health check is `revoke-role-bot health`", health)
        check(env.get("REVOKE_ROLE_BOT_CONFIG_TOML") == config_text(out["AuditTableName"]),
              f"{mode}: the task gets the config parameter's text as REVOKE_ROLE_BOT_CONFIG_TOML",
              [x for x in container.get("secrets", []) if x])
        stdout = check_config(binary, env, endpoint, work, mode)
        if mode == "Socket Mode":
            check(f"ok   account target ({TARGET_ACCOUNT})" in stdout,
                  "check-config reaches the target account through revoke-role-bot-target", stdout)

    # A table without an index is refused: the check above can fail.
    bot("dynamodb").create_table(
        TableName="not-the-bot-table", BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    )
    env, _, _ = task_environment(bot, socket_out["TaskDefinitionArn"], slack_url)
    env["REVOKE_ROLE_BOT_CONFIG_TOML"] = env["REVOKE_ROLE_BOT_CONFIG_TOML"].replace(
        socket_out["AuditTableName"], "not-the-bot-table")
    out = run_check_config(binary, env, endpoint, work)
    check(out.returncode != 0 and "has no index by_role" in out.stdout,
          "check-config refuses a table without the bot's indexes", out.stdout + out.stderr)

    # The alarm rules, as the stack made them, against CloudTrail events.
    events = bot("events")
    role_name = socket_out["TaskRoleName"]

    def trail(source, name, params, issuer=role_name, read_only=False):
        return ({
            "version": "0", "id": "1", "detail-type": "AWS API Call via CloudTrail", "source": f"aws.{source}",
            "account": BOT_ACCOUNT, "time": "2026-12-01T00:00:00Z", "region": "us-east-1", "resources": [],
            "detail": {
                "eventSource": f"{source}.amazonaws.com", "eventName": name, "readOnly": read_only,
                "userIdentity": {"type": "AssumedRole", "sessionContext": {"sessionIssuer": {
                    "type": "Role", "userName": issuer, "arn": f"arn:aws:iam::{BOT_ACCOUNT}:role/{issuer}"}}},
                "requestParameters": params,
            },
        })

    # moto's server does not implement TestEventPattern; its in-process matcher does.
    from moto.events.models import EventPattern, EventPatternParser

    patterns = {r["Name"]: r["EventPattern"] for r in events.list_rules()["Rules"]}

    def rules_of(stack):
        """The event rules a stack made, by name: its pattern."""
        res = bot("cloudformation").list_stack_resources(StackName=stack)["StackResourceSummaries"]
        return {r["PhysicalResourceId"]: patterns[r["PhysicalResourceId"]] for r in res
                if r["ResourceType"] == "AWS::Events::Rule"}

    def matched(rules, event):
        return sorted(n for n, raw in rules.items()
                      if EventPattern(raw, EventPatternParser(raw).parse()).matches_event(event))

    own_delete = trail("iam", "DeleteRolePolicy", {"roleName": "app", "policyName": "AWSRevokeOlderSessions"})
    cases = [
        ("the bot's own cut-off", trail("iam", "PutRolePolicy", {"roleName": "app", "policyName": "AWSRevokeOlderSessions"}), 0),
        ("another policy name", trail("iam", "PutRolePolicy", {"roleName": "app", "policyName": "Backdoor"}), 1),
        ("deleting another policy", trail("iam", "DeleteRolePolicy", {"roleName": "app", "policyName": "Guardrail"}), 1),
        ("another IAM write", trail("iam", "AttachRolePolicy", {"roleName": "app", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}), 1),
        ("an IAM read", trail("iam", "GetRole", {"roleName": "app"}, read_only=True), 0),
        ("a permission set's cut-off", trail("sso", "PutInlinePolicyToPermissionSet", {"permissionSetArn": "x"}), 0),
        ("provisioning a permission set", trail("sso", "ProvisionPermissionSet", {"permissionSetArn": "x"}), 0),
        ("another Identity Center write", trail("sso", "AttachManagedPolicyToPermissionSet", {"permissionSetArn": "x"}), 1),
        ("an account assignment", trail("sso", "CreateAccountAssignment", {"permissionSetArn": "x"}), 1),
        ("someone else's policy", trail("iam", "PutRolePolicy", {"roleName": "app", "policyName": "Backdoor"}, issuer="admin"), 0),
        ("a leaked key's user's cut-off", trail("iam", "PutUserPolicy", {"userName": "ci", "policyName": "AWSRevokeOlderSessions"}), 0),
        ("another user policy", trail("iam", "PutUserPolicy", {"userName": "ci", "policyName": "Backdoor"}), 1),
        ("a leaked key set Inactive", trail("iam", "UpdateAccessKey", {"userName": "ci", "accessKeyId": "AKIAEXAMPLE", "status": "Inactive"}), 0),
        ("a new access key", trail("iam", "CreateAccessKey", {"userName": "ci"}), 1),
    ]
    own_user_delete = trail("iam", "DeleteUserPolicy", {"userName": "ci", "policyName": "AWSRevokeOlderSessions"})
    for stack, cleanup in (("revoke-role-bot-alarms", False), ("revoke-role-bot-alarms-cleanup", True)):
        rules = rules_of(stack)
        label = f"alarms.yaml, CleanupAfterWindow={str(cleanup).lower()}"
        for what, event, want_n in cases + [("the bot deleting its own cut-off", own_delete, 0 if cleanup else 1),
                                            ("the bot deleting a user's cut-off", own_user_delete, 0 if cleanup else 1)]:
            got_rules = matched(rules, event)
            check(len(got_rules) == want_n, f"{label}: {what} matches {want_n} rule(s)", got_rules)
        check(len(rules) == (3 if cleanup else 4), f"{label} made {3 if cleanup else 4} rules", list(rules))
    # bot.yaml's own rules: the bot down, the config parameter written.
    cluster = socket_out["ClusterName"]
    ecs = bot("ecs")
    service = ecs.describe_services(cluster=cluster, services=ecs.list_services(cluster=cluster)["serviceArns"])
    (service,) = service["services"]
    cluster_arn = service["clusterArn"]

    def ecs_event(detail_type, detail, resources=()):
        return {"version": "0", "id": "2", "detail-type": detail_type, "source": "aws.ecs", "account": BOT_ACCOUNT,
                "time": "2026-12-01T00:00:00Z", "region": REGION, "resources": list(resources), "detail": detail}

    def stopped(stop_code, reason, group=f"service:{service['serviceName']}"):
        return ecs_event("ECS Task State Change", {
            "clusterArn": cluster_arn, "group": group, "lastStatus": "STOPPED", "desiredStatus": "STOPPED",
            "stopCode": stop_code, "stoppedReason": reason})

    def ssm_call(name, params, issuer="admin"):
        event = trail("ssm", name, params, issuer=issuer)
        event["region"] = REGION
        return event

    bot_rules = rules_of("revoke-role-bot")
    ops_cases = [
        ("a config change", ssm_call("PutParameter", {"name": "/revoke-role-bot/config", "type": "String",
                                                      "overwrite": True}), 1),
        ("deleting the config", ssm_call("DeleteParameter", {"name": "/revoke-role-bot/config"}), 1),
        ("deleting it among others", ssm_call("DeleteParameters", {"names": ["/x", "/revoke-role-bot/config"]}), 1),
        ("another parameter", ssm_call("PutParameter", {"name": "/revoke-role-bot-http/config"}), 0),
        ("ECS reading the config", ssm_call("GetParameters", {"names": ["/revoke-role-bot/config"]}), 0),
        ("a task that failed its health check (Socket Mode not connected)",
         stopped("ServiceSchedulerInitiated", "Task failed container health checks"), 1),
        ("a task that exited", stopped("EssentialContainerExited", "Essential container in task exited"), 1),
        ("a task that could not start", stopped("TaskFailedToStart", "ResourceInitializationError: unable to pull secrets"), 1),
        ("a task replaced by a deployment",
         stopped("ServiceSchedulerInitiated", "Scaling activity initiated by (deployment ecs-svc/1234567890)"), 0),
        ("check-config as a one-off task", stopped("EssentialContainerExited", "Essential container in task exited",
                                                   group="family:revoke-role-bot"), 0),
        ("a task that started", ecs_event("ECS Task State Change", {
            "clusterArn": cluster_arn, "group": f"service:{service['serviceName']}", "lastStatus": "RUNNING"}), 0),
        ("a service that cannot start tasks", ecs_event("ECS Service Action", {"eventName": "SERVICE_TASK_START_IMPAIRED"},
                                                        [service["serviceArn"]]), 1),
        ("a failed deployment", ecs_event("ECS Deployment State Change", {"eventName": "SERVICE_DEPLOYMENT_FAILED"},
                                          [service["serviceArn"]]), 1),
        ("a finished deployment", ecs_event("ECS Deployment State Change", {"eventName": "SERVICE_DEPLOYMENT_COMPLETED"},
                                            [service["serviceArn"]]), 0),
        ("a steady service", ecs_event("ECS Service Action", {"eventName": "SERVICE_STEADY_STATE"},
                                       [service["serviceArn"]]), 0),
    ]
    for what, event, want_n in ops_cases:
        got_rules = matched(bot_rules, event)
        check(len(got_rules) == want_n, f"bot.yaml alarm rules: {what} matches {want_n} rule(s)", got_rules)
    print(f"     (alert topic {alarms_out.get('AlertTopicArn')})")


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # a crash is a failure, with its cause
        import traceback

        check(False, "moto deploy check crashed", traceback.format_exc())
    sys.exit(1 if failures else 0)
