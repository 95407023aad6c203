"""The cfn-hup stand-in: aws-cfn-bootstrap's cfn-hup (bin/cfn-hup, cfnbootstrap/update_hooks.py)
with the stand-in CloudFormation.

It daemonizes exactly as the real one does: python-daemon's DaemonContext with a
TimeoutPIDLockFile at /var/run/cfn-hup.pid and SIGTERM mapped to a clean stop. (DaemonContext does
not fork when its parent is PID 1, which is why its systemd unit must be Type=simple.) Every
`interval` minutes (default 15, at least 1) it reads each hook's path; for post.add, post.update
and post.remove triggers whose data changed it runs the hook's action as written, in a shell (as
`su <runas> -c <action>` when runas is set), with CFN_OLD_/CFN_NEW_ variables. A successful action
stores the new data; a failed one is retried at the next poll. A resource whose status ends in
_IN_PROGRESS is skipped. `--no-daemon` processes once and exits."""

import configparser
import json
import logging
import os
import signal
import subprocess
import sys
import threading

import standin

log = logging.getLogger("cfn.hup")


class FatalUpdateError(Exception):
    pass


class InFlight(Exception):
    pass


class Hook:
    def __init__(self, name, triggers, path, action, runas):
        self.name, self.triggers, self.path, self.action, self.runas = name, triggers, path, action, runas


def parse_config(config_path):
    main_path = os.path.join(config_path, "cfn-hup.conf")
    if not os.path.isfile(main_path):
        raise ValueError("Could not find main configuration at %s" % main_path)
    main = configparser.ConfigParser()
    main.read(main_path)
    if not main.has_option("main", "stack"):
        raise ValueError("[main] section must contain stack option")
    hooks_dir = os.path.join(config_path, "hooks.d")
    files = [os.path.join(config_path, "hooks.conf")]
    if os.path.isdir(hooks_dir):
        files += sorted(os.path.join(hooks_dir, f) for f in os.listdir(hooks_dir)
                        if os.path.isfile(os.path.join(hooks_dir, f)))
    hooks_config = configparser.ConfigParser(interpolation=None)
    if not hooks_config.read(files):
        raise ValueError("No hook configurations found at %s or %s." % (files[0], hooks_dir))
    hooks = []
    for section in hooks_config.sections():
        if not all(hooks_config.has_option(section, o) for o in ("triggers", "path", "action")):
            logging.error("Hook %s needs triggers, path and action", section)
            continue
        runas = hooks_config.get(section, "runas").strip() if hooks_config.has_option(section, "runas") else None
        hooks.append(Hook(section, [t.strip() for t in hooks_config.get(section, "triggers").split(",")],
                          hooks_config.get(section, "path").strip(), hooks_config.get(section, "action"), runas))
    if not hooks:
        raise ValueError("No valid hooks found")
    return main, HookProcessor(hooks, main.get("main", "stack"))


def extract_value(metadata, path):
    if not path:
        return metadata
    value = metadata
    for element in path.split("."):
        if not isinstance(value, dict) or element not in value:
            return None
        value = value[element]
    return value


class HookProcessor:
    def __init__(self, hooks, stack, data_dir="/var/lib/cfn-hup/data"):
        self.hooks, self.stack, self.dir = hooks, stack, data_dir
        os.makedirs(self.dir, exist_ok=True)
        self.db_path = os.path.join(self.dir, "metadata_db.json")

    def _load(self):
        try:
            with open(self.db_path) as f:
                return json.load(f)
        except (FileNotFoundError, ValueError):
            return {}

    def _save(self, db):
        with open(self.db_path + ".tmp", "w") as f:
            json.dump(db, f)
        os.replace(self.db_path + ".tmp", self.db_path)

    def process(self):
        db = self._load()
        for hook in self.hooks:
            try:
                self._process_hook(hook, db)
            except FatalUpdateError:
                raise
            except Exception:
                log.exception("Exception caught while running hook %s", hook.name)
        self._save(db)

    def _retrieve(self, path):
        parts = path.split(".", 3)
        if len(parts) < 2 or parts[0].lower() != "resources":
            raise FatalUpdateError("Unsupported path: %s" % path)
        part = parts[2].lower() if len(parts) > 2 else None
        if part not in (None, "metadata", "physicalresourceid"):
            raise FatalUpdateError("Unsupported path: %s" % path)
        resource = standin.describe_stack_resource(parts[1], self.stack)
        if resource.status and resource.status.endswith("_IN_PROGRESS"):
            log.debug("Skipping resource %s in %s as it is in status %s", parts[1], self.stack, resource.status)
            raise InFlight()
        if part == "metadata":
            return extract_value(resource.metadata, parts[3] if len(parts) > 3 else "")
        raise FatalUpdateError("The stand-in answers Metadata paths only: %s" % path)

    def _process_hook(self, hook, db):
        try:
            new = self._retrieve(hook.path)
        except InFlight:
            return
        key = hook.name + "|" + hook.path
        old = db.get(key)
        if "post.add" in hook.triggers and not old and new:
            log.info("Previous state not found; action for %s will be run", hook.name)
        elif "post.remove" in hook.triggers and old and not new:
            log.info("Path %s was removed; action for %s will be run", hook.path, hook.name)
        elif "post.update" in hook.triggers and old and new and old != new:
            log.info("Data has changed from previous state; action for %s will be run", hook.name)
        else:
            log.debug("No change in path %s for hook %s", hook.path, hook.name)
            db[key] = new
            return
        env = dict(os.environ)
        if old:
            env["CFN_OLD_METADATA"] = json.dumps(old)
        if new:
            env["CFN_NEW_METADATA"] = json.dumps(new)
        action = ["su", hook.runas, "-c", hook.action] if hook.runas else hook.action
        standin.record("cfn-hup", hook=hook.name, action=hook.action)
        log.info("Running action for %s", hook.name)
        r = subprocess.run(action, shell=isinstance(action, str), env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if r.returncode:
            log.warning("Action for %s exited with %s; will retry on next iteration", hook.name, r.returncode)
        else:
            db[key] = new
        log.debug("Action for %s output: %s", hook.name, r.stdout.decode("utf-8", "replace"))


def run(options, fatal):
    standin.configure_logging("cfn-hup.log", options.get("verbose", False))
    try:
        main_config, processor = parse_config(options.get("config", "/etc/cfn"))
    except ValueError as e:
        logging.error("Error: %s", e)
        return 1
    if options.get("no_daemon"):
        processor.process()
        return 0
    interval = main_config.getint("main", "interval") if main_config.has_option("main", "interval") else 15
    if interval < 1:
        logging.error("Invalid interval (must be 1 minute or greater): %s", interval)
        return 1
    minute = float(standin.settings().get("secondsPerMinute", 60))
    standin.record("cfn-hup", event="start", interval=interval, pid=os.getpid(), ppid=os.getppid())
    while not fatal.is_set():
        try:
            processor.process()
        except FatalUpdateError:
            logging.exception("Fatal exception")
            return 1
        except Exception:
            logging.exception("Unhandled exception")
        fatal.wait(interval * minute)
    return 0


def main(argv):
    options = {"config": "/etc/cfn"}
    i = 0
    while i < len(argv):
        if argv[i] in ("-c", "--config") and i + 1 < len(argv):
            options["config"] = argv[i + 1]
            i += 1
        elif argv[i] == "--no-daemon":
            options["no_daemon"] = True
        elif argv[i] in ("-v", "--verbose"):
            options["verbose"] = True
        i += 1
    fatal = threading.Event()
    if options.get("no_daemon"):
        return run(options, fatal)
    import daemon
    from daemon import pidfile

    def kill(signum, frame):
        logging.info("Shutting down cfn-hup")
        fatal.set()

    with daemon.DaemonContext(pidfile=pidfile.TimeoutPIDLockFile("/var/run/cfn-hup.pid", 300),
                              signal_map={signal.SIGTERM: kill}):
        return run(options, fatal)
