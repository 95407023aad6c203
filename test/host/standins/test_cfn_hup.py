"""The cfn-hup stand-in follows aws-cfn-bootstrap's cfn-hup (bin/cfn-hup, update_hooks.py): its
configuration, its triggers, retrying failed actions, skipping resources in flight, and
daemonizing with python-daemon's DaemonContext and a PID lock file.

Run: python3 -m unittest discover -s test/host/standins"""

import json
import os
import shutil
import signal
import sys
import tempfile
import threading
import unittest
from unittest import mock

HERE = os.path.dirname(os.path.abspath(__file__))
# One stand-in state directory for every test module of the run (standin reads it once).
STATE = os.environ.setdefault("PEP_STANDIN_STATE", tempfile.mkdtemp(prefix="pep-standin-state-"))
os.environ["PEP_STANDIN_HOME"] = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import cfn_hup  # noqa: E402
import standin  # noqa: E402


class Hup(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="pep-cfn-hup-")
        os.makedirs(os.path.join(STATE, "stack"), exist_ok=True)
        self.conf = os.path.join(self.dir, "cfn")
        os.makedirs(os.path.join(self.conf, "hooks.d"))
        with open(os.path.join(self.conf, "cfn-hup.conf"), "w") as f:
            f.write("[main]\nstack=arn:stack/S\nregion=us-east-1\ninterval=1\n")
        self.marker = os.path.join(self.dir, "ran")
        self.write_hook("action=echo run >> %s" % self.marker)

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def write_hook(self, action_line, extra=""):
        with open(os.path.join(self.conf, "hooks.d", "reload.conf"), "w") as f:
            f.write("[reload]\ntriggers=post.update\npath=Resources.Group.Metadata.AWS::CloudFormation::Init\n%s\n%s" % (action_line, extra))

    def stack(self, metadata, status="UPDATE_COMPLETE"):
        with open(os.path.join(STATE, "stack", "Group.json"), "w") as f:
            json.dump({"stackName": "S", "stackId": "arn:stack/S", "status": status, "metadata": metadata}, f)

    def processor(self):
        _, processor = cfn_hup.parse_config(self.conf)
        processor.dir = self.dir
        processor.db_path = os.path.join(self.dir, "metadata_db.json")
        return processor

    def runs(self):
        if not os.path.exists(self.marker):
            return 0
        with open(self.marker) as f:
            return len(f.read().split())

    def init(self, n):
        return {"AWS::CloudFormation::Init": {"config": {"files": {"/x": {"content": str(n)}}}}}

    def test_post_update_runs_the_action_only_when_the_data_changes(self):
        p = self.processor()
        self.stack(self.init(1))
        p.process()
        self.assertEqual(self.runs(), 0, "the first sight is stored, not acted on")
        p.process()
        self.assertEqual(self.runs(), 0)
        self.stack(self.init(2))
        p.process()
        self.assertEqual(self.runs(), 1)
        p.process()
        self.assertEqual(self.runs(), 1)

    def test_a_failed_action_is_retried_at_the_next_poll(self):
        self.write_hook("action=echo run >> %s; exit 1" % self.marker)
        p = self.processor()
        self.stack(self.init(1))
        p.process()
        self.stack(self.init(2))
        p.process()
        p.process()
        self.assertEqual(self.runs(), 2)

    def test_a_resource_in_flight_is_skipped(self):
        p = self.processor()
        self.stack(self.init(1), "UPDATE_COMPLETE")
        p.process()
        self.stack(self.init(2), "UPDATE_IN_PROGRESS")
        p.process()
        self.assertEqual(self.runs(), 0)
        self.stack(self.init(2), "UPDATE_COMPLETE")
        p.process()
        self.assertEqual(self.runs(), 1)

    def test_the_action_runs_as_written_in_a_shell_with_the_new_metadata(self):
        out = os.path.join(self.dir, "env")
        self.write_hook("action=printenv CFN_NEW_METADATA > %s && echo run >> %s" % (out, self.marker))
        p = self.processor()
        self.stack(self.init(1))
        p.process()
        self.stack(self.init(2))
        p.process()
        with open(out) as f:
            self.assertEqual(json.loads(f.read()), self.init(2)["AWS::CloudFormation::Init"])

    def test_runas_runs_the_action_through_su(self):
        self.write_hook("action=true", "runas=root\n")
        p = self.processor()
        self.stack(self.init(1))
        p.process()
        self.stack(self.init(2))
        with mock.patch("subprocess.run") as run:
            run.return_value = mock.Mock(returncode=0, stdout=b"")
            p.process()
        self.assertEqual(run.call_args[0][0], ["su", "root", "-c", "true"])

    def test_the_main_configuration_needs_a_stack(self):
        with open(os.path.join(self.conf, "cfn-hup.conf"), "w") as f:
            f.write("[main]\nregion=us-east-1\n")
        with self.assertRaisesRegex(ValueError, "must contain stack option"):
            cfn_hup.parse_config(self.conf)

    def test_a_hook_without_an_action_is_ignored(self):
        with open(os.path.join(self.conf, "hooks.d", "reload.conf"), "w") as f:
            f.write("[reload]\ntriggers=post.update\npath=Resources.Group.Metadata\n")
        with self.assertRaisesRegex(ValueError, "No valid hooks found"):
            cfn_hup.parse_config(self.conf)

    def test_it_daemonizes_with_daemon_context_and_a_pid_lock_file_at_var_run_cfn_hup_pid(self):
        seen = {}

        class FakeContext:
            def __init__(self, **kwargs):
                seen.update(kwargs)

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                return False

        with mock.patch("daemon.DaemonContext", FakeContext), mock.patch.object(cfn_hup, "run", return_value=0):
            self.assertEqual(cfn_hup.main(["-c", self.conf]), 0)
        self.assertEqual(seen["pidfile"].path, "/var/run/cfn-hup.pid")
        self.assertEqual(seen["pidfile"].acquire_timeout, 300)
        self.assertIn(signal.SIGTERM, seen["signal_map"])

    def test_python_daemon_does_not_detach_when_its_parent_is_pid_1(self):
        import daemon.daemon

        with mock.patch("os.getppid", return_value=1):
            self.assertFalse(daemon.daemon.is_detach_process_context_required())

    def test_the_interval_is_in_minutes_and_at_least_one(self):
        with open(os.path.join(self.conf, "cfn-hup.conf"), "w") as f:
            f.write("[main]\nstack=arn:stack/S\ninterval=0\n")
        os.environ["PEP_STANDIN_LOGS"] = self.dir
        self.assertEqual(cfn_hup.run({"config": self.conf}, threading.Event()), 1)
        with open(os.path.join(self.dir, "cfn-hup.log")) as f:
            self.assertIn("Invalid interval (must be 1 minute or greater)", f.read())


if __name__ == "__main__":
    unittest.main()
