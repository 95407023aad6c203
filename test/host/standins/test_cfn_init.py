"""The cfn-init stand-in follows cfn-init's documented semantics (AWS::CloudFormation::Init user
guide; aws-cfn-bootstrap's construction.py, file_tool.py, command_tool.py, service_tools.py).

Run: python3 -m unittest discover -s test/host/standins (as root: files get owners)."""

import base64
import json
import os
import shutil
import stat
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
# One stand-in state directory for every test module of the run (standin reads it once).
STATE = os.environ.setdefault("PEP_STANDIN_STATE", tempfile.mkdtemp(prefix="pep-standin-state-"))
os.environ["PEP_STANDIN_HOME"] = os.path.dirname(HERE)  # al2023-on-debian.json is there
os.environ["PEP_STANDIN_CFN_INIT_DATA"] = os.path.join(STATE, "cfn-init-data")
sys.path.insert(0, HERE)

import cfn_init  # noqa: E402
import standin  # noqa: E402


class RecordingSystem(cfn_init.System):
    """Packages present, groups and users absent; records what cfn-init asks of the system."""

    def __init__(self, events, installed=("squid-openssl", "openssl", "nftables")):
        super().__init__(standin.mapping())
        self.events = events
        self.installed = set(installed)
        self.running = set()

    def package_installed(self, name):
        self.events.append("package " + name)
        return name in self.installed

    def stand_in_installed(self, path):
        self.events.append("stand-in " + path)
        return True

    def group_exists(self, name):
        return False

    def user_exists(self, name):
        return False

    def run(self, argv):
        self.events.append(" ".join(argv))
        if argv[:2] == ["systemctl", "is-active"]:
            return (0 if argv[-1] in self.running else 3), ""
        return 0, ""


class Workspace(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="pep-cfn-init-")
        self.events = []
        self.system = RecordingSystem(self.events)

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def p(self, name):
        return os.path.join(self.dir, name)

    def marker_command(self, label):
        """A command that appends its label to events.log (a shell string)."""
        return {"command": "echo %s >> %s" % (label, self.p("events.log"))}

    def logged(self):
        with open(self.p("events.log")) as f:
            return f.read().split()


class ConfigSets(Workspace):
    def test_config_sets_run_their_configs_in_the_order_given_with_references_expanded(self):
        init = {
            "configSets": {"base": ["b", "a"], "all": [{"ConfigSet": "base"}, "c"]},
            "a": {"commands": {"x": self.marker_command("a")}},
            "b": {"commands": {"x": self.marker_command("b")}},
            "c": {"commands": {"x": self.marker_command("c")}},
        }
        cfn_init.build({"AWS::CloudFormation::Init": init}, ["all", "base"], self.system)
        self.assertEqual(self.logged(), ["b", "a", "c", "b", "a"])

    def test_without_config_sets_the_default_set_is_the_config_named_config(self):
        init = {"config": {"commands": {"x": self.marker_command("config")}}}
        cfn_init.build({"AWS::CloudFormation::Init": init}, ["default"], self.system)
        self.assertEqual(self.logged(), ["config"])

    def test_an_unknown_config_set_fails(self):
        with self.assertRaisesRegex(cfn_init.ToolError, "no ConfigSet named nope"):
            cfn_init.config_sets({"configSets": {"a": []}}, ["nope"])


class Order(Workspace):
    def test_a_config_runs_packages_groups_users_files_commands_then_services(self):
        config = {
            "services": {"sysvinit": {"demo": {"enabled": "true", "ensureRunning": "true"}}},
            "commands": {"01": {"command": ["true"]}},
            "files": {self.p("f"): {"content": "x"}},
            "users": {"demo": {"groups": ["demo"]}},
            "groups": {"demo": {}},
            "packages": {"yum": {"squid": []}},
        }
        original_commands = cfn_init.apply_commands

        def recording_commands(commands):
            self.events.append("commands")
            self.assertTrue(os.path.exists(self.p("f")), "files come before commands")
            return original_commands(commands)

        cfn_init.apply_commands = recording_commands
        try:
            cfn_init.apply_config("c", config, self.system, cfn_init.Auth({}))
        finally:
            cfn_init.apply_commands = original_commands
        kinds = [e.split()[0] for e in self.events]
        self.assertEqual(
            kinds,
            ["package", "groupadd", "useradd", "commands", "systemctl", "systemctl", "systemctl"],
        )
        self.assertEqual(self.events[-3:], ["systemctl enable demo", "systemctl is-active --quiet demo", "systemctl start demo"])

    def test_sources_are_refused_by_the_stand_in(self):
        with self.assertRaisesRegex(cfn_init.ToolError, "sources"):
            cfn_init.apply_config("c", {"sources": {"/opt/x": "https://example.test/x.tgz"}}, self.system, cfn_init.Auth({}))


class Commands(Workspace):
    def test_commands_run_in_alphabetical_order_of_their_keys(self):
        commands = {k: self.marker_command(k) for k in ["20-c", "10-a", "2-b", "10-b"]}
        cfn_init.apply_commands(commands)
        self.assertEqual(self.logged(), ["10-a", "10-b", "2-b", "20-c"])

    def test_a_string_runs_in_a_shell_and_a_list_without_one(self):
        out = self.p("out")
        cfn_init.apply_commands({
            "1": {"command": "echo $((1+1)) > %s" % out},
            "2": {"command": ["sh", "-c", 'echo "$0" >> %s' % out, "$HOME"]},
        })
        with open(out) as f:
            self.assertEqual(f.read().split(), ["2", "$HOME"])

    def test_cwd_is_the_working_directory(self):
        cfn_init.apply_commands({"1": {"command": "pwd > out", "cwd": self.dir}})
        with open(self.p("out")) as f:
            self.assertEqual(f.read().strip(), os.path.realpath(self.dir))

    def test_env_replaces_the_whole_environment(self):
        os.environ["PEP_SHOULD_NOT_LEAK"] = "1"
        try:
            cfn_init.apply_commands({"1": {"command": ["/usr/bin/env"], "env": {"ONLY": "this"}}})
        finally:
            del os.environ["PEP_SHOULD_NOT_LEAK"]
        # The output goes to cfn-init-cmd.log; run it again to capture it directly.
        code, out = cfn_init.run_process(["/usr/bin/env"], {"ONLY": "this"})
        self.assertEqual((code, out.split()), (0, ["ONLY=this"]))

    def test_a_failing_test_skips_the_command_and_a_passing_one_runs_it(self):
        cfn_init.apply_commands({
            "1": dict(self.marker_command("skipped"), test="exit 1"),
            "2": dict(self.marker_command("ran"), test="exit 0"),
        })
        self.assertEqual(self.logged(), ["ran"])

    def test_test_runs_with_the_commands_cwd_and_env(self):
        cfn_init.apply_commands({
            "1": dict(self.marker_command("ran"), test='[ "$WHERE" = here ] && [ "$(pwd)" = "%s" ]' % os.path.realpath(self.dir),
                      cwd=self.dir, env={"WHERE": "here", "PATH": "/usr/bin:/bin"}),
        })
        self.assertEqual(self.logged(), ["ran"])

    def test_a_failing_command_stops_cfn_init(self):
        with self.assertRaisesRegex(cfn_init.ToolError, "Command 2 failed"):
            cfn_init.apply_commands({"1": self.marker_command("one"), "2": {"command": "exit 3"}, "3": self.marker_command("three")})
        self.assertEqual(self.logged(), ["one"])

    def test_ignore_errors_continues_past_a_failing_command(self):
        ran = cfn_init.apply_commands({
            "1": {"command": "exit 3", "ignoreErrors": "true"},
            "2": self.marker_command("two"),
        })
        self.assertEqual((ran, self.logged()), (["1", "2"], ["two"]))

    def test_ignore_errors_takes_cfn_inits_booleans(self):
        for value in [True, "true", "True", "yes", "1", 1]:
            self.assertTrue(cfn_init.interpret_boolean(value), value)
        for value in [False, "false", "no", "0", 0, None, ""]:
            self.assertFalse(cfn_init.interpret_boolean(value), value)

    def test_a_command_without_command_fails(self):
        with self.assertRaisesRegex(cfn_init.ToolError, "does not specify the 'command' attribute"):
            cfn_init.apply_commands({"1": {"cwd": "/"}})


class Files(Workspace):
    def apply(self, files, auth=None):
        return cfn_init.apply_files(files, self.system, auth or cfn_init.Auth({}))

    def test_content_is_written_with_the_six_digit_mode_owner_and_group(self):
        path = self.p("a/b/c.conf")
        self.apply({path: {"content": "hello\n", "mode": "000640", "owner": "root", "group": "daemon"}})
        st = os.stat(path)
        with open(path) as f:
            self.assertEqual(f.read(), "hello\n")
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o640)
        self.assertEqual((st.st_uid, st.st_gid), (0, __import__("grp").getgrnam("daemon").gr_gid))

    def test_base64_content_is_decoded(self):
        path = self.p("bin")
        self.apply({path: {"content": base64.b64encode(b"\x00\x01binary").decode(), "encoding": "base64"}})
        with open(path, "rb") as f:
            self.assertEqual(f.read(), b"\x00\x01binary")

    def test_plain_encoding_is_the_default_and_keeps_the_text(self):
        path = self.p("plain")
        text = base64.b64encode(b"not decoded").decode()
        self.apply({path: {"content": text, "encoding": "plain"}})
        with open(path) as f:
            self.assertEqual(f.read(), text)

    def test_object_content_is_written_as_json(self):
        path = self.p("obj.json")
        self.apply({path: {"content": {"a": [1, 2]}}})
        with open(path) as f:
            self.assertEqual(json.load(f), {"a": [1, 2]})

    def test_an_existing_file_is_moved_to_bak_first(self):
        path = self.p("conf")
        with open(path, "w") as f:
            f.write("old")
        changed = self.apply({path: {"content": "new"}})
        with open(path + ".bak") as f:
            self.assertEqual(f.read(), "old")
        self.assertEqual(changed, [path])
        self.assertEqual(self.apply({path: {"content": "new"}}), [], "unchanged content is not a change")

    def test_mode_120000_makes_a_symbolic_link_to_the_content(self):
        path = self.p("link")
        self.apply({path: {"content": "/etc/hostname", "mode": "120000"}})
        self.assertEqual(os.readlink(path), "/etc/hostname")

    def test_files_are_written_in_path_order(self):
        written = self.apply({self.p("b"): {"content": "b"}, self.p("a"): {"content": "a"}})
        self.assertEqual(written, [self.p("a"), self.p("b")])

    def test_a_relative_path_fails(self):
        with self.assertRaisesRegex(cfn_init.ToolError, "non-absolute"):
            self.apply({"relative/path": {"content": "x"}})

    def test_a_source_in_s3_is_read_with_the_role_the_authentication_names_for_its_bucket(self):
        os.makedirs(os.path.join(STATE, "s3", "bucket-1"), exist_ok=True)
        with open(os.path.join(STATE, "s3", "bucket-1", "k.txt"), "w") as f:
            f.write("from s3")
        os.makedirs(os.path.join(STATE, "iam"), exist_ok=True)
        with open(os.path.join(STATE, "iam", "role-1.json"), "w") as f:
            json.dump([{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bucket-1/k.txt"}], f)
        auth = cfn_init.Auth({"A": {"type": "S3", "roleName": "role-1", "buckets": ["bucket-1"]}})
        path = self.p("from-s3")
        self.apply({path: {"source": "https://s3.us-east-1.amazonaws.com/bucket-1/k.txt", "mode": "000644"}}, auth)
        with open(path) as f:
            self.assertEqual(f.read(), "from s3")
        # Virtual-hosted URLs name the bucket in the host.
        self.apply({path: {"source": "https://bucket-1.s3.us-east-1.amazonaws.com/k.txt"}}, auth)

    def test_an_s3_source_the_role_may_not_read_fails_and_keeps_the_previous_file(self):
        os.makedirs(os.path.join(STATE, "iam"), exist_ok=True)
        with open(os.path.join(STATE, "iam", "role-2.json"), "w") as f:
            json.dump([{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bucket-2/other.txt"}], f)
        path = self.p("kept")
        with open(path, "w") as f:
            f.write("previous")
        auth = cfn_init.Auth({"A": {"type": "S3", "roleName": "role-2", "buckets": ["bucket-2"]}})
        with self.assertRaisesRegex(cfn_init.ToolError, "403"):
            self.apply({path: {"source": "https://s3.us-east-1.amazonaws.com/bucket-2/k.txt"}}, auth)
        with open(path) as f:
            self.assertEqual(f.read(), "previous")

    def test_a_source_outside_s3_fails(self):
        with self.assertRaisesRegex(cfn_init.ToolError, "no network"):
            self.apply({self.p("x"): {"source": "https://example.test/file"}})


class Packages(Workspace):
    def test_yum_packages_map_to_debian_packages_or_stand_ins(self):
        cfn_init.apply_packages({"yum": {"squid": [], "amazon-cloudwatch-agent": []}}, self.system)
        self.assertEqual(
            self.events,
            ["stand-in /opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl", "package squid-openssl"],
        )

    def test_a_package_missing_from_the_root_filesystem_fails(self):
        self.system.installed = set()
        with self.assertRaisesRegex(cfn_init.ToolError, "squid .*not installed"):
            cfn_init.apply_packages({"yum": {"squid": []}}, self.system)

    def test_a_package_the_table_does_not_map_fails(self):
        with self.assertRaisesRegex(cfn_init.ToolError, "not in al2023-on-debian.json"):
            cfn_init.apply_packages({"yum": {"httpd": []}}, self.system)


class Services(Workspace):
    def test_a_service_is_restarted_when_a_file_it_lists_changed(self):
        self.system.running.add("demo")
        cfn_init.apply_services({"sysvinit": {"demo": {"ensureRunning": "true", "files": ["/etc/demo"]}}},
                                {"files": ["/etc/demo"]}, self.system)
        self.assertEqual(self.events, ["systemctl restart demo"])

    def test_ensure_running_false_stops_a_running_service(self):
        self.system.running.add("demo")
        cfn_init.apply_services({"systemd": {"demo": {"ensureRunning": "false", "enabled": "false"}}}, {}, self.system)
        self.assertEqual(self.events, ["systemctl disable demo", "systemctl is-active --quiet demo", "systemctl stop demo"])


class Main(Workspace):
    def setUp(self):
        super().setUp()
        os.environ["PEP_STANDIN_LOGS"] = self.dir
        os.makedirs(os.path.join(STATE, "stack"), exist_ok=True)

    def write_stack(self, metadata):
        with open(os.path.join(STATE, "stack", "Group.json"), "w") as f:
            json.dump({"stackName": "S", "stackId": "arn:S", "status": "CREATE_IN_PROGRESS", "metadata": metadata}, f)

    def test_a_failed_build_exits_1_and_says_why(self):
        self.write_stack({"AWS::CloudFormation::Init": {"config": {"commands": {"1": {"command": "exit 2"}}}}})
        self.assertEqual(cfn_init.main(["-v", "--stack", "S", "--resource", "Group", "--region", "us-east-1"]), 1)
        with open(os.path.join(self.dir, "cfn-init.log")) as f:
            self.assertIn("Command 1 failed", f.read())

    def test_an_unknown_stack_fails(self):
        self.write_stack({"AWS::CloudFormation::Init": {"config": {}}})
        self.assertEqual(cfn_init.main(["--stack", "Other", "--resource", "Group"]), 1)


if __name__ == "__main__":
    unittest.main()
