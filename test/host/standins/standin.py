"""What the stand-ins of AWS's instance tools share: the mapping table, the stand-in CloudFormation
(DescribeStackResource), S3 and IAM, the record of calls, and logging like aws-cfn-bootstrap's.

Installed in /usr/lib/pep-standin inside the booted root filesystem; the directories below are
the stand-ins' whole world (see test/host/al2023-on-debian.json)."""

import fnmatch
import json
import logging
import os
import subprocess
import sys
import time

HOME = os.environ.get("PEP_STANDIN_HOME", "/usr/lib/pep-standin")
STATE = os.environ.get("PEP_STANDIN_STATE", "/var/lib/pep-standin")


def mapping():
    """The AL2023-to-Debian mapping table (test/host/al2023-on-debian.json)."""
    with open(os.path.join(HOME, "al2023-on-debian.json")) as f:
        return json.load(f)


def record(tool, **details):
    """Append one call to calls.jsonl, with the time and the listening TCP ports at that moment."""
    os.makedirs(STATE, exist_ok=True)
    entry = {"tool": tool, "time": time.time(), "argv": sys.argv[1:], "listening": listening_ports()}
    entry.update(details)
    with open(os.path.join(STATE, "calls.jsonl"), "a") as f:
        f.write(json.dumps(entry) + "\n")


def listening_ports():
    try:
        out = subprocess.run(["ss", "-Hltn"], capture_output=True, text=True, check=False).stdout
    except OSError:
        return []
    ports = set()
    for line in out.splitlines():
        fields = line.split()
        if len(fields) >= 4 and ":" in fields[3]:
            ports.add(int(fields[3].rsplit(":", 1)[1]))
    return sorted(ports)


class StackResource:
    """What DescribeStackResource answers: the resource's status and metadata."""

    def __init__(self, logical_id, status, metadata):
        self.logical_id = logical_id
        self.status = status
        self.metadata = metadata


def describe_stack_resource(logical_id, stack):
    """The stand-in DescribeStackResource: stack/<logical ID>.json, checked against the stack name."""
    path = os.path.join(STATE, "stack", logical_id + ".json")
    try:
        with open(path) as f:
            data = json.load(f)
    except FileNotFoundError:
        raise IOError("Resource %s does not exist for stack %s" % (logical_id, stack))
    if stack not in (data.get("stackName"), data.get("stackId")):
        raise IOError("Stack with id %s does not exist" % stack)
    return StackResource(logical_id, data.get("status", "CREATE_COMPLETE"), data.get("metadata"))


def s3_get(bucket, key, role_name):
    """The stand-in S3 GetObject with the role's credentials: allowed only when the role's policy
    grants s3:GetObject on the object's ARN (exact match or wildcard)."""
    arn = "arn:aws:s3:::%s/%s" % (bucket, key)
    statements = []
    if role_name:
        try:
            with open(os.path.join(STATE, "iam", role_name + ".json")) as f:
                statements = json.load(f)
        except FileNotFoundError:
            statements = []
    if not any(_grants(s, "s3:GetObject", arn) for s in statements):
        raise IOError("HTTP Error 403 : AccessDenied (%s may not read %s)" % (role_name or "anonymous", arn))
    try:
        with open(os.path.join(STATE, "s3", bucket, key), "rb") as f:
            return f.read()
    except FileNotFoundError:
        raise IOError("HTTP Error 404 : NoSuchKey %s" % arn)


def _grants(statement, action, arn):
    if statement.get("Effect", "Allow") != "Allow":
        return False
    actions = statement.get("Action", [])
    resources = statement.get("Resource", [])
    actions = [actions] if isinstance(actions, str) else actions
    resources = [resources] if isinstance(resources, str) else resources
    return any(fnmatch.fnmatchcase(action, a) for a in actions) and any(
        fnmatch.fnmatchcase(arn, r) for r in resources
    )


def settings():
    try:
        with open(os.path.join(STATE, "settings.json")) as f:
            return json.load(f)
    except FileNotFoundError:
        return {}


def configure_logging(filename, verbose=False):
    """Log like aws-cfn-bootstrap: /var/log/<filename>, '<time> [LEVEL] message'."""
    handler = logging.FileHandler(os.path.join(os.environ.get("PEP_STANDIN_LOGS", "/var/log"), filename))
    handler.setFormatter(logging.Formatter("%(asctime)s [%(levelname)s] %(message)s"))
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
