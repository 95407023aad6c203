"""The cfn-init stand-in: applies AWS::CloudFormation::Init metadata the way aws-cfn-bootstrap's
cfn-init does, on the Debian root filesystem of the boot test.

Semantics pinned by test_cfn_init.py, from cfn-init's documentation and source (cfnbootstrap
construction.py, file_tool.py, command_tool.py, service_tools.py):
- config sets run in the order given; a set lists config names and {"ConfigSet": name} references;
  without configSets, the set "default" is the one config "config";
- within a config: packages, groups, users, sources, files, commands, services;
- files in path order: absolute paths only, parents created, an existing file moved to <file>.bak
  first; content (a string, or JSON for an object), or source (a URL; S3 with the role named by
  `authentication` or by the bucket in AWS::CloudFormation::Authentication); encoding plain or
  base64; mode as six octal digits (120000: a symbolic link to `content`); owner and group;
- commands in alphabetical order of their keys; a string runs in a shell, a list without one;
  `cwd`; `env` replaces the whole environment; `test` runs first and the command only when it
  exits 0; a non-zero exit stops cfn-init unless `ignoreErrors`;
- services (sysvinit or systemd; both through systemctl here): `enabled`, `ensureRunning`, and a
  restart when a file, source, package, command, user or group they list changed.

What differs on Debian (package names, the AWS programs) comes from al2023-on-debian.json."""

import base64
import grp
import json
import logging
import os
import pwd
import re
import stat
import subprocess
import sys

import standin

log = logging.getLogger("cfn.init")
cmd_log = logging.getLogger("cfn.init.cmd")

DATA_DIR = os.environ.get("PEP_STANDIN_CFN_INIT_DATA", "/var/lib/cfn-init/data")
CONFIG_ORDER = ["packages", "groups", "users", "sources", "files", "commands", "services"]
PACKAGE_MANAGER_ORDER = ["msi", "dpkg", "rpm", "apt", "yum"]
TRUES = {True, 1, "true", "yes", "y", "1"}


class ToolError(Exception):
    pass


def interpret_boolean(value):
    """cfn-init's boolean: true, 1, 'true', 'yes', 'y', '1' (any case); everything else is false."""
    if not value:
        return False
    if isinstance(value, str):
        value = value.lower().strip()
    return value in TRUES


class System:
    """The side effects of applying metadata, so tests can observe or replace them."""

    def __init__(self, table=None):
        self.table = table if table is not None else standin.mapping()

    def package_installed(self, name):
        r = subprocess.run(["dpkg-query", "-W", "-f=${Status}", name], capture_output=True, text=True)
        return r.returncode == 0 and r.stdout.strip() == "install ok installed"

    def stand_in_installed(self, path):
        return os.access(path, os.X_OK)

    def group_exists(self, name):
        try:
            grp.getgrnam(name)
            return True
        except KeyError:
            return False

    def user_exists(self, name):
        try:
            pwd.getpwnam(name)
            return True
        except KeyError:
            return False

    def run(self, argv):
        r = subprocess.run(argv, capture_output=True, text=True)
        return r.returncode, r.stdout + r.stderr

    def s3_get(self, bucket, key, role_name):
        return standin.s3_get(bucket, key, role_name)


def config_sets(init, names):
    """The configs to run, in order, for the config set names given (references expanded)."""
    if "configSets" not in init:
        if names != ["default"]:
            raise ToolError("Error: no ConfigSet named %s exists" % ",".join(names))
        return [("config", init.get("config", {}))]
    sets = init["configSets"]

    def expand(entry, seen):
        if isinstance(entry, str):
            if entry not in init:
                raise ToolError("No configuration found with name: %s" % entry)
            return [(entry, init[entry])]
        if isinstance(entry, dict):
            name = entry.get("ConfigSet")
            if name not in sets:
                raise ToolError("Configuration set %s was referenced but not defined" % name)
            if name in seen:
                raise ToolError("Circular configSet reference: %s" % name)
            return [c for e in as_list(sets[name]) for c in expand(e, seen | {name})]
        return [c for e in entry for c in expand(e, seen)]

    out = []
    for name in names:
        if name not in sets:
            raise ToolError("Error: no ConfigSet named %s exists" % name)
        out.extend(c for e in as_list(sets[name]) for c in expand(e, {name}))
    return out


def as_list(value):
    return value if isinstance(value, list) else [value]


class Auth:
    """AWS::CloudFormation::Authentication: S3 credentials by name, and by bucket."""

    def __init__(self, model):
        self.by_name = {}
        self.by_bucket = {}
        for name, config in (model or {}).items():
            if str(config.get("type", "")).lower() != "s3":
                continue
            role = config.get("roleName")
            self.by_name[name] = role
            for bucket in as_list(config.get("buckets", [])):
                self.by_bucket[bucket] = role

    def role_for(self, name, bucket):
        if name and name in self.by_name:
            return self.by_name[name]
        return self.by_bucket.get(bucket)


S3_URL = re.compile(r"^https?://(?:(?P<vbucket>[-\w.]+)\.)?s3[-.](?:[\w-]+\.)?amazonaws\.com(?:\.cn)?/(?P<path>.*)$")


def s3_location(url):
    """(bucket, key) of an S3 URL, path-style or virtual-hosted; None for other URLs."""
    m = S3_URL.match(url)
    if not m:
        return None
    if m.group("vbucket"):
        return m.group("vbucket"), m.group("path")
    bucket, _, key = m.group("path").partition("/")
    return bucket, key


def apply_packages(packages, system):
    changed = {}
    managers = sorted(
        packages.items(),
        key=lambda kv: (0, PACKAGE_MANAGER_ORDER.index(kv[0])) if kv[0] in PACKAGE_MANAGER_ORDER else (1, kv[0].lower()),
    )
    table = system.table["yumPackages"]
    for manager, names in managers:
        if manager != "yum":
            raise ToolError("The stand-in maps only yum packages, not %s" % manager)
        for name in sorted(names):
            if name not in table:
                raise ToolError("Package %s is not in al2023-on-debian.json: the test cannot install it offline" % name)
            debian = table[name]
            if isinstance(debian, dict):
                ok, what = system.stand_in_installed(debian["standIn"]), "stand-in " + debian["standIn"]
            else:
                ok, what = system.package_installed(debian), "Debian package " + debian
            if not ok:
                raise ToolError("Package %s (%s) is not installed in the root filesystem" % (name, what))
            log.info("yum package %s is present (%s)", name, what)
        changed[manager] = []
    return changed


def apply_groups(groups, system):
    changed = []
    for name, attrs in sorted(groups.items()):
        if system.group_exists(name):
            continue
        argv = ["groupadd"] + (["-g", str(attrs["gid"])] if attrs and "gid" in attrs else []) + [name]
        code, out = system.run(argv)
        if code:
            raise ToolError("Could not create group %s: %s" % (name, out))
        changed.append(name)
    return changed


def apply_users(users, system):
    changed = []
    for name, attrs in sorted(users.items()):
        if system.user_exists(name):
            continue
        argv = ["useradd", "-M", "-s", "/sbin/nologin"]
        if "uid" in attrs:
            argv += ["-u", str(attrs["uid"])]
        if attrs.get("groups"):
            argv += ["-G", ",".join(attrs["groups"])]
        if "homeDir" in attrs:
            argv += ["-d", attrs["homeDir"]]
        code, out = system.run(argv + [name])
        if code:
            raise ToolError("Could not create user %s: %s" % (name, out))
        changed.append(name)
    return changed


def apply_files(files, system, auth):
    changed = []
    for path, attrs in sorted(files.items()):
        if not os.path.isabs(path):
            raise ToolError("File specified with non-absolute path: %s" % path)
        is_link = "mode" in attrs and stat.S_ISLNK(int(attrs["mode"], 8))
        if is_link and "content" not in attrs:
            raise ToolError("Symbolic link specified without a destination")
        parent = os.path.dirname(path)
        if not os.path.isdir(parent):
            if os.path.exists(parent):
                raise ToolError("Parent directory %s exists and is a file" % parent)
            os.makedirs(parent)
        backup = path + ".bak" if os.path.lexists(path) else None
        if backup:
            if os.path.lexists(backup):
                os.remove(backup)
            os.rename(path, backup)
        try:
            if is_link:
                os.symlink(attrs["content"], path)
            else:
                with open(path, "wb") as f:
                    f.write(file_bytes(path, attrs, system, auth))
                if "mode" in attrs:
                    os.chmod(path, stat.S_IMODE(int(attrs["mode"], 8)))
            set_owner(path, attrs.get("owner"), attrs.get("group"))
        except Exception:
            if backup:
                if os.path.lexists(path):
                    os.remove(path)
                os.rename(backup, path)
            raise
        if not backup or is_link or not same_content(backup, path):
            changed.append(path)
        log.info("Wrote %s", path)
    return changed


def file_bytes(path, attrs, system, auth):
    if "context" in attrs:
        raise ToolError("%s: Mustache templates (context) are not supported by the stand-in" % path)
    content = attrs.get("content", "")
    if content:
        if not isinstance(content, str):
            return json.dumps(content).encode()
        if attrs.get("encoding", "plain") == "base64":
            return base64.b64decode(content.strip())
        return content.encode()
    source = attrs.get("source", "")
    if not source:
        raise ToolError("File specified without source or content")
    where = s3_location(source)
    if not where:
        raise ToolError("Failed to retrieve %s: the test has no network beyond its stand-in S3" % source)
    bucket, key = where
    try:
        return system.s3_get(bucket, key, auth.role_for(attrs.get("authentication"), bucket))
    except IOError as e:
        raise ToolError("Failed to retrieve %s: %s" % (source, e))


def same_content(a, b):
    if os.path.islink(a) or os.path.islink(b):
        return False
    with open(a, "rb") as fa, open(b, "rb") as fb:
        return fa.read() == fb.read()


def set_owner(path, owner, group):
    uid = pwd.getpwnam(owner).pw_uid if owner else -1
    gid = grp.getgrnam(group).gr_gid if group else -1
    if uid != -1 or gid != -1:
        os.lchown(path, uid, gid)


def run_process(cmd, env=None, cwd=None):
    """A string runs in a shell, a list without one (cfn-init's ProcessHelper)."""
    r = subprocess.run(
        cmd,
        shell=isinstance(cmd, str),
        env=dict(env) if env else None,
        cwd=os.path.expanduser(cwd) if cwd else None,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    return r.returncode, r.stdout.decode("utf-8", "replace")


def apply_commands(commands):
    ran = []
    for name in sorted(commands):
        attrs = commands[name]
        if "command" not in attrs:
            raise ToolError("%s does not specify the 'command' attribute, which is required" % name)
        env, cwd = attrs.get("env"), attrs.get("cwd")
        if "test" in attrs:
            code, out = run_process(attrs["test"], env, cwd)
            if code:
                log.info("Test failed with code %s", code)
                continue
        code, out = run_process(attrs["command"], env, cwd)
        cmd_log.info("Command %s\n%s", name, out)
        if code:
            log.error("Command %s (%s) failed", name, attrs["command"])
            if interpret_boolean(attrs.get("ignoreErrors")):
                log.info("ignoreErrors set to true, continuing build")
                ran.append(name)
                continue
            raise ToolError("Command %s failed" % name)
        log.info("Command %s succeeded", name)
        ran.append(name)
    return ran


def apply_services(services, changes, system):
    for manager, units in services.items():
        if manager not in ("sysvinit", "systemd"):
            log.warning("Unsupported service manager: %s", manager)
            continue
        for name, props in units.items():
            restart = needs_restart(props, changes)
            if "enabled" in props:
                verb = "enable" if interpret_boolean(props["enabled"]) else "disable"
                systemctl(system, verb, name)
            if restart:
                systemctl(system, "restart", name)
            elif "ensureRunning" in props:
                running = system.run(["systemctl", "is-active", "--quiet", name])[0] == 0
                want = interpret_boolean(props["ensureRunning"])
                if want and not running:
                    systemctl(system, "start", name)
                elif not want and running:
                    systemctl(system, "stop", name)


def needs_restart(props, changes):
    for key in ("files", "sources", "groups", "users", "commands"):
        if set(props.get(key, [])) & set(changes.get(key, [])):
            return True
    for manager, names in props.get("packages", {}).items():
        if set(names) & set(changes.get("packages", {}).get(manager, [])):
            return True
    return False


def systemctl(system, verb, name):
    code, out = system.run(["systemctl", verb, name])
    if code:
        raise ToolError("Could not %s service %s: %s" % (verb, name, out))


def apply_config(name, config, system, auth):
    log.info("Running config %s", name)
    unknown = set(config) - set(CONFIG_ORDER)
    if unknown:
        raise ToolError("Config %s has unknown keys: %s" % (name, ", ".join(sorted(unknown))))
    changes = {}
    if config.get("packages"):
        changes["packages"] = apply_packages(config["packages"], system)
    if config.get("groups"):
        changes["groups"] = apply_groups(config["groups"], system)
    if config.get("users"):
        changes["users"] = apply_users(config["users"], system)
    if config.get("sources"):
        raise ToolError("Config %s uses sources, which the stand-in does not download" % name)
    if config.get("files"):
        changes["files"] = apply_files(config["files"], system, auth)
    if config.get("commands"):
        changes["commands"] = apply_commands(config["commands"])
    if config.get("services"):
        apply_services(config["services"], changes, system)
    return changes


def build(metadata, names, system):
    init = metadata.get("AWS::CloudFormation::Init")
    if not init:
        raise ToolError("Could not find 'AWS::CloudFormation::Init' key in metadata")
    auth = Auth(metadata.get("AWS::CloudFormation::Authentication"))
    log.info("Running configSets: %s", ", ".join(names))
    for config_name, config in config_sets(init, names):
        apply_config(config_name, config, system, auth)
    log.info("ConfigSets completed")


def parse_args(argv):
    opts = {"configsets": "default", "region": "us-east-1", "verbose": False}
    names = {"-s": "stack", "--stack": "stack", "-r": "resource", "--resource": "resource",
             "-c": "configsets", "--configsets": "configsets", "--region": "region",
             "--role": "role", "-u": "url", "--url": "url"}
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in ("-v", "--verbose"):
            opts["verbose"] = True
        elif "=" in a and a.split("=", 1)[0] in names:
            opts[names[a.split("=", 1)[0]]] = a.split("=", 1)[1]
        elif a in names and i + 1 < len(argv):
            opts[names[a]] = argv[i + 1]
            i += 1
        else:
            raise ToolError("cfn-init stand-in: unknown argument %s" % a)
        i += 1
    return opts


def main(argv):
    opts = parse_args(argv)
    standin.configure_logging("cfn-init.log", opts["verbose"])
    cmd_handler = logging.FileHandler(os.path.join(os.environ.get("PEP_STANDIN_LOGS", "/var/log"), "cfn-init-cmd.log"))
    cmd_handler.setFormatter(logging.Formatter("%(asctime)s P%(process)d [%(levelname)s] %(message)s"))
    cmd_log.addHandler(cmd_handler)
    standin.record("cfn-init", region=opts["region"], stack=opts.get("stack"), resource=opts.get("resource"),
                   configsets=opts["configsets"])
    if not opts.get("stack") or not opts.get("resource"):
        print("Error: You must specify both a stack name and logical resource id", file=sys.stderr)
        return 1
    try:
        detail = standin.describe_stack_resource(opts["resource"], opts["stack"])
    except IOError as e:
        print(str(e), file=sys.stderr)
        return 1
    if not detail.metadata:
        print("Error: %s does not specify any metadata" % detail.logical_id, file=sys.stderr)
        return 1
    os.makedirs(DATA_DIR, exist_ok=True)
    with open(os.path.join(DATA_DIR, "metadata.json"), "w") as f:
        json.dump(detail.metadata, f, indent=4)
    try:
        logging.info("Starting build".center(60, "-"))
        build(detail.metadata, opts["configsets"].split(","), System())
    except Exception as e:
        logging.error("BUILD FAILED!".center(60, "-"))
        print("Error occurred during build: %s" % e, file=sys.stderr)
        logging.exception("Unhandled exception during build: %s", e)
        return 1
    logging.info("Build complete".center(60, "-"))
    return 0
