"""Resolve the IAM policies of deploy/bot.yaml and deploy/target-account.yaml, as CloudFormation would
for given parameters, in each AWS partition; check what the templates must say beyond IAM.

Writes the scenarios that simulate.mjs evaluates: for each, the roles the bot (or an operator) acts as,
with their ARNs and every identity policy attached to them (inline, AWS::IAM::RolePolicy,
AWS::IAM::Policy and managed policies, conditions applied).

moto cannot do this part: it resolves AWS::Partition as `aws` and skips AWS::IAM::RolePolicy.

Usage: python policies.py OUT.json
"""
import itertools
import json
import re
import sys
from pathlib import Path
from urllib.parse import urlparse

from cfnlint.decode import decode_str

from checks import check, failures

REPO = Path(__file__).resolve().parents[2]
BOT_ACCOUNT = "111111111111"
TARGET_ACCOUNT = "222222222222"
PARTITIONS = {"aws": "eu-west-1", "aws-cn": "cn-north-1", "aws-us-gov": "us-gov-west-1"}
INSTANCE = "ssoins-1234567890abcdef"
EXTERNAL_ID = "f00dfeedf00dfeedf00dfeedf00dfeedf00dfeedf00dfeed"
NO_VALUE = object()



def load(name):
    template, matches = decode_str((REPO / "deploy" / name).read_text())
    if matches:
        raise SystemExit(f"cannot read deploy/{name}: {matches}")
    return template


class Stack:
    """One stack: its parameters, pseudo parameters and made-up physical ids for its resources."""

    def __init__(self, template, params, partition, account, name):
        self.t = template
        self.partition, self.region, self.account, self.name = partition, PARTITIONS[partition], account, name
        self.params = {k: v.get("Default", "") for k, v in template.get("Parameters", {}).items()}
        for k, v in params.items():
            if k not in self.params:
                check(False, f"{name}: the template has no parameter {k}")
            self.params[k] = v
        for k, v in self.params.items():
            if template["Parameters"].get(k, {}).get("Type") == "CommaDelimitedList":
                self.params[k] = [x for x in v.split(",")] if isinstance(v, str) else v
        self.conditions = {}
        for k in template.get("Conditions", {}):
            self.condition(k)

    def condition(self, name):
        if name not in self.conditions:
            self.conditions[name] = bool(self.resolve(self.t["Conditions"][name]))
        return self.conditions[name]

    def arn(self, logical):
        kind = self.t["Resources"][logical]["Type"]
        p, r, a = self.partition, self.region, self.account
        if kind == "AWS::IAM::Role":
            name = self.t["Resources"][logical]["Properties"].get("RoleName")
            name = self.resolve(name) if name else f"{self.name}-{logical}-AbCdEf123456"
            return f"arn:{p}:iam::{a}:role/{name}", name
        if kind == "AWS::DynamoDB::Table":
            name = self.resolve(self.t["Resources"][logical]["Properties"]["TableName"])
            return f"arn:{p}:dynamodb:{r}:{a}:table/{name}", name
        if kind == "AWS::IAM::ManagedPolicy":
            return f"arn:{p}:iam::{a}:policy/{self.name}-{logical}-AbCdEf", None
        return f"arn:{p}:unknown:{r}:{a}:{logical}", logical

    def ref(self, name):
        pseudo = {"AWS::Partition": self.partition, "AWS::Region": self.region, "AWS::AccountId": self.account,
                  "AWS::StackName": self.name, "AWS::NoValue": NO_VALUE, "AWS::URLSuffix": "amazonaws.com"}
        if name in pseudo:
            return pseudo[name]
        if name in self.params:
            return self.params[name]
        kind = self.t["Resources"][name]["Type"]
        arn, physical = self.arn(name)
        return arn if kind in ("AWS::IAM::ManagedPolicy",) else physical

    def sub(self, text, extra):
        def one(m):
            key = m.group(1)
            if key in extra:
                return str(extra[key])
            if "." in key:
                logical, attr = key.split(".", 1)
                return str(self.getatt(logical, attr))
            return str(self.ref(key))

        return re.sub(r"\$\{([^}!]+)\}", one, text)

    def getatt(self, logical, attr):
        if attr != "Arn":
            raise ValueError(f"GetAtt {logical}.{attr} is not modelled")
        return self.arn(logical)[0]

    def resolve(self, node):
        if isinstance(node, list):
            out = [self.resolve(x) for x in node]
            return [x for x in out if x is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            (fn, arg), = node.items()
            if fn == "Ref":
                return self.ref(arg)
            if fn == "Fn::Sub":
                if isinstance(arg, list):
                    return self.sub(arg[0], {k: self.resolve(v) for k, v in arg[1].items()})
                return self.sub(arg, {})
            if fn == "Fn::GetAtt":
                logical, attr = arg if isinstance(arg, list) else arg.split(".", 1)
                return self.getatt(logical, attr)
            if fn == "Fn::If":
                return self.resolve(arg[1] if self.condition(arg[0]) else arg[2])
            if fn == "Fn::Select":
                return self.resolve(arg[1])[int(self.resolve(arg[0]))]
            if fn == "Fn::Split":
                return self.resolve(arg[1]).split(arg[0])
            if fn == "Fn::Join":
                return arg[0].join(self.resolve(arg[1]))
            if fn == "Fn::Equals":
                a, b = (self.resolve(x) for x in arg)
                return a == b
            if fn == "Fn::Not":
                return not self.resolve(arg[0])
            if fn == "Fn::And":
                return all(self.resolve(x) for x in arg)
            if fn == "Fn::Or":
                return any(self.resolve(x) for x in arg)
            if fn == "Condition":
                return self.condition(arg)
        out = {k: self.resolve(v) for k, v in node.items()}
        return {k: v for k, v in out.items() if v is not NO_VALUE}

    def exists(self, logical):
        c = self.t["Resources"][logical].get("Condition")
        return c is None or self.condition(c)

    def role_policies(self, role):
        """Every identity policy attached to the role `role` (a logical id), resolved."""
        res = self.t["Resources"]
        props = res[role]["Properties"]
        policies = [{"name": p["PolicyName"], "policy": p["PolicyDocument"]}
                    for p in self.resolve(props.get("Policies", []))]
        for arn in self.resolve(props.get("ManagedPolicyArns", [])):
            if f":iam::aws:policy/" in arn:
                continue  # AWS managed (AmazonECSTaskExecutionRolePolicy): ECR and logs only
            raise ValueError(f"{role}: managed policy {arn} is not modelled")
        for logical, r in res.items():
            if not self.exists(logical):
                continue
            p = r.get("Properties", {})
            if r["Type"] == "AWS::IAM::RolePolicy" and p.get("RoleName") == {"Ref": role}:
                policies.append({"name": p["PolicyName"], "policy": self.resolve(p["PolicyDocument"])})
            if r["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy") and {"Ref": role} in p.get("Roles", []):
                policies.append({"name": logical, "policy": self.resolve(p["PolicyDocument"])})
        return policies

    def role(self, logical):
        arn, name = self.arn(logical)
        trust = self.resolve(self.t["Resources"][logical]["Properties"]["AssumeRolePolicyDocument"])
        return {"logical": logical, "arn": arn, "name": name, "account": self.account,
                "policies": self.role_policies(logical), "trust": trust}


def scenarios():
    bot_t, target_t = load("bot.yaml"), load("target-account.yaml")
    out = []
    for partition in PARTITIONS:
        instance = f"arn:{partition}:sso:::instance/{INSTANCE}"
        # Every combination of the options in aws; all on and all off in the other partitions.
        options = itertools.product((False, True), repeat=3) if partition == "aws" else ((False,) * 3, (True,) * 3)
        for cleanup, users, identity_center in options:
            params = {"IdentityCenterInstanceArn": instance} if identity_center else {}
            if cleanup:
                params["CleanupAfterWindow"] = "true"
            if users:
                params["RevocableUserPattern"] = f"arn:{partition}:iam::*:user/*"
            secret = f"arn:{partition}:secretsmanager:{PARTITIONS[partition]}:{BOT_ACCOUNT}:secret:revoke-role-bot/slack-AbCdEf"
            bot = Stack(bot_t, {**params, "SlackSecretArn": secret}, partition, BOT_ACCOUNT, "revoke-role-bot")
            target = Stack(target_t, {**params, "BotRoleArn": bot.arn("TaskRole")[0], "ExternalId": EXTERNAL_ID}, partition,
                           TARGET_ACCOUNT, "StackSet-revoke-role-bot-target-1234")
            operator = bot.resolve(bot_t["Resources"]["AuditReaderPolicy"]["Properties"]["PolicyDocument"])
            out.append({
                "name": f"{partition}, Identity Center {'on' if identity_center else 'off'}, "
                        f"clean-up {'on' if cleanup else 'off'}, users {'on' if users else 'off'}",
                "partition": partition,
                "region": bot.region,
                "identity_center": identity_center,
                "cleanup": cleanup,
                "users": users,
                "role_pattern": None,
                "table": bot.params["TableName"],
                "target_role": bot.params["TargetRoleName"],
                "external_id": EXTERNAL_ID,
                "task_role": bot.role("TaskRole"),
                "execution_role": bot.role("ExecutionRole"),
                "target_role_in_target": target.role("TargetRole"),
                "operator": {"arn": f"arn:{partition}:iam::{BOT_ACCOUNT}:role/incident-responder",
                             "account": BOT_ACCOUNT, "policies": [{"name": "AuditReaderPolicy", "policy": operator}]},
            })
    # A narrower RevocableRolePattern: only the roles it names (the clean-up's delete too).
    pattern = "arn:aws:iam::*:role/app-*"
    secret = f"arn:aws:secretsmanager:eu-west-1:{BOT_ACCOUNT}:secret:revoke-role-bot/slack-AbCdEf"
    bot = Stack(bot_t, {"RevocableRolePattern": pattern, "SlackSecretArn": secret, "CleanupAfterWindow": "true"},
                "aws", BOT_ACCOUNT, "revoke-role-bot")
    target = Stack(target_t, {"RevocableRolePattern": pattern, "CleanupAfterWindow": "true",
                              "BotRoleArn": bot.arn("TaskRole")[0],
                              "ExternalId": EXTERNAL_ID}, "aws",
                   TARGET_ACCOUNT, "StackSet-revoke-role-bot-target-1234")
    plain = next(x for x in out if x["partition"] == "aws" and not (x["identity_center"] or x["users"] or x["cleanup"]))
    out.append({**plain, "name": "aws, RevocableRolePattern app-*, clean-up on", "role_pattern": "app-",
                "cleanup": True,
                "task_role": bot.role("TaskRole"), "execution_role": bot.role("ExecutionRole"),
                "target_role_in_target": target.role("TargetRole")})
    return out


def static_checks():
    """What the templates must say that no policy evaluation shows."""
    for name in ("bot.yaml", "target-account.yaml", "alarms.yaml"):
        text = (REPO / "deploy" / name).read_text()
        literal = [line.strip() for line in text.splitlines()
                   if re.search(r"arn:aws(-[a-z]+)?:", line) and "AllowedPattern" not in line
                   and not line.strip().startswith("#") and "e.g." not in line]
        check(not literal, f"deploy/{name}: no ARN with a literal partition", "\n".join(literal))
    bot_t = load("bot.yaml")
    res = bot_t["Resources"]
    for logical in ("AuditTable", "LogGroup"):
        check(res[logical].get("DeletionPolicy") == "RetainExceptOnCreate"
              and res[logical].get("UpdateReplacePolicy") == "Retain",
              f"bot.yaml {logical}: DeletionPolicy RetainExceptOnCreate, UpdateReplacePolicy Retain "
              "(a failed first create can be retried)")
    # A protected table cannot be removed by a failed first create's rollback (ROLLBACK_FAILED, and the
    # retry says "already exists"); moto ignores deletion protection, so only the template text can show it.
    secret = f"arn:aws:secretsmanager:eu-west-1:{BOT_ACCOUNT}:secret:revoke-role-bot/slack-AbCdEf"
    for value, want in ((None, False), ("false", False), ("true", True)):
        params = {"SlackSecretArn": secret, **({"TableDeletionProtection": value} if value else {})}
        got = Stack(bot_t, params, "aws", BOT_ACCOUNT, "revoke-role-bot").resolve(
            res["AuditTable"]["Properties"].get("DeletionProtectionEnabled", False))
        check(got is want, f"bot.yaml AuditTable: DeletionProtectionEnabled is {want} with "
              f"TableDeletionProtection={value or 'default'}", f"got {got!r}")
    check(res["AuditTable"]["Properties"].get("PointInTimeRecoverySpecification")
          == {"PointInTimeRecoveryEnabled": True},
          "bot.yaml AuditTable: point-in-time recovery on (moto's CloudFormation does not apply it)")
    readme = (REPO / "deploy" / "README.md").read_text()
    check("TableDeletionProtection=true" in readme,
          "deploy/README.md turns deletion protection on with an update after the first create")
    check_listener(bot_t)
    check_config_parameter(bot_t)
    lb_sg = res["LoadBalancerSecurityGroup"]["Properties"]
    egress = lb_sg.get("SecurityGroupEgress", [])
    check(bool(egress) and all("CidrIp" not in e and "CidrIpv6" not in e for e in egress)
          and not any(r["Type"] == "AWS::EC2::SecurityGroupEgress" for r in res.values()),
          "bot.yaml: the load balancer's security group names its egress (no default allow-all)", egress)
    container = res["TaskDefinition"]["Properties"]["ContainerDefinitions"][0]
    check(container.get("HealthCheck", {}).get("Command") == ["CMD", "/usr/local/bin/revoke-role-bot", "health"],
          "bot.yaml: the container health check runs `revoke-role-bot health`")
    readme = (REPO / "deploy" / "README.md").read_text()
    check("--image-tag-mutability IMMUTABLE" in readme, "deploy/README.md creates the ECR repository with immutable tags")


def check_config_parameter(bot_t):
    """The task gets its config from the SSM parameter ConfigParameterName as REVOKE_ROLE_BOT_CONFIG_TOML (its
    only config source), and the execution role may read exactly that parameter, in every partition."""
    res = bot_t["Resources"]
    container = res["TaskDefinition"]["Properties"]["ContainerDefinitions"][0]
    source, reader = [], []
    for partition in PARTITIONS:
        secret = f"arn:{partition}:secretsmanager:{PARTITIONS[partition]}:{BOT_ACCOUNT}:secret:revoke-role-bot/slack-AbCdEf"
        for name in ("/revoke-role-bot/config", "/team/sec/revoke-role-bot"):
            bot = Stack(bot_t, {"SlackSecretArn": secret, "ConfigParameterName": name}, partition, BOT_ACCOUNT,
                        "revoke-role-bot")
            arn = f"arn:{partition}:ssm:{bot.region}:{BOT_ACCOUNT}:parameter{name}"
            secrets = {x["Name"]: x["ValueFrom"] for x in bot.resolve(container.get("Secrets", []))}
            env = {x["Name"] for x in bot.resolve(container.get("Environment", []))}
            config_vars = sorted(n for n in set(secrets) | env if n.startswith("REVOKE_ROLE_BOT_CONFIG"))
            if secrets.get("REVOKE_ROLE_BOT_CONFIG_TOML") != arn or config_vars != ["REVOKE_ROLE_BOT_CONFIG_TOML"]:
                source.append(f"{partition} {name}: secrets {secrets}, environment {sorted(env)}, want {arn}")
            statements = []
            for pol in bot.role("ExecutionRole")["policies"]:
                st = pol["policy"]["Statement"]
                statements += st if isinstance(st, list) else [st]
            got = [(st["Effect"], st["Action"], st["Resource"]) for st in statements
                   if "ssm:" in json.dumps(st.get("Action"))]
            if got != [("Allow", "ssm:GetParameters", arn)]:
                reader.append(f"{partition} {name}: {got}, want ssm:GetParameters on {arn}")
    check(not source, "bot.yaml: the container's only config source is REVOKE_ROLE_BOT_CONFIG_TOML, from the "
          "parameter ConfigParameterName", "\n".join(source))
    check(not reader, "bot.yaml: the execution role may read exactly the config parameter (ssm:GetParameters)",
          "\n".join(reader))


def check_listener(bot_t):
    """Every request URL Slack is given in manifest.yml reaches the bot through the load balancer, and the bot
    serves each path the listener forwards."""
    import yaml

    manifest = yaml.safe_load((REPO / "manifest.yml").read_text())
    urls = [c["url"] for c in manifest.get("features", {}).get("slash_commands", []) if "url" in c]
    interactivity = manifest.get("settings", {}).get("interactivity", {})
    urls += [interactivity[k] for k in ("request_url", "message_menu_options_url") if k in interactivity]
    urls.append(manifest.get("settings", {}).get("event_subscriptions", {}).get("request_url"))
    paths = {urlparse(u).path for u in urls if u}
    rules = [r for r in bot_t["Resources"].values() if r["Type"] == "AWS::ElasticLoadBalancingV2::ListenerRule"]
    forwarded = {v for r in rules for c in r["Properties"]["Conditions"] if c["Field"] == "path-pattern"
                 for v in c["PathPatternConfig"]["Values"]}
    check(len(paths) >= 3 and paths <= forwarded,
          f"bot.yaml: the load balancer forwards every request URL in manifest.yml ({', '.join(sorted(paths))})",
          f"manifest paths {sorted(paths)}, forwarded {sorted(forwarded)}, missing {sorted(paths - forwarded)}")
    router = (REPO / "src" / "http" / "mod.rs").read_text()
    served = set(re.findall(r'\.route\("(/slack/[a-z_/]+)"', router))
    check(forwarded <= served, "bot.yaml: every path the load balancer forwards is one the bot serves (src/http/mod.rs)",
          f"forwarded {sorted(forwarded)}, served {sorted(served)}")


def main():
    out = Path(sys.argv[1])
    static_checks()
    data = scenarios()
    out.write_text(json.dumps(data, indent=1))
    print(f"ok   resolved the IAM policies of {len(data)} deployments (partitions, options) for simulate.mjs")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
