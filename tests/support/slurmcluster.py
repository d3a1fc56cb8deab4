"""A throwaway single-node Slurm cluster for the launch tests: Debian's slurm-wlm 22.05 with munge, and slurmdbd on
MariaDB for accounting (without it `sacct` is off and submitit never sees a cancelled job end). Everything runs on
loopback from a temp folder, with no systemd and no cgroups, each daemon in the foreground as a child of this
process, and is stopped by its PID afterwards.

What a new user trips on, each handled here: /run/munge must exist (systemd usually makes it); slurm.conf is
generated at start (node name from `hostname -s`, CPUs and memory from `slurmd -C`, the controller at
`<name>(127.0.0.1)` so no DNS lookup is needed); slurmdbd.conf must be mode 0600; short KillWait, credential
lifetime and scheduler intervals turn minutes of cancel and requeue delay into seconds."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

DAEMONS = ("munged", "mariadbd", "slurmdbd", "slurmctld", "slurmd", "sbatch", "sacctmgr")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def unavailable() -> str:
    """Why no cluster can be started here ('' when one can)."""
    missing = [name for name in DAEMONS if shutil.which(name) is None
               and not Path(f"/usr/sbin/{name}").exists()]
    if missing:
        return (f"Slurm is not installed ({', '.join(missing)} missing: apt-get install slurm-wlm munge slurmdbd "
                "mariadb-server)")
    if os.geteuid() != 0:
        return "the single-node Slurm cluster starts its daemons as root"
    return ""


def _which(name: str) -> str:
    return shutil.which(name) or f"/usr/sbin/{name}"


class Cluster:
    """One running cluster; `env` is what a process needs to use it (SLURM_CONF)."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="bench-slurm-"))
        self.name = socket.gethostname().split(".")[0]
        self.processes: dict[str, subprocess.Popen] = {}
        self.ports = {"ctld": _free_port(), "slurmd": _free_port(), "dbd": _free_port(), "db": _free_port()}
        self.conf = self.folder / "slurm.conf"
        self.env = {**os.environ, "SLURM_CONF": str(self.conf)}

    def _start(self, name: str, *command: str) -> None:
        log = (self.folder / f"{name}.out").open("w")
        self.processes[name] = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=self.env)

    def _wait(self, what: str, ready, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited ({process.returncode}) while waiting for {what}: "
                                       f"{(self.folder / f'{name}.out').read_text()[-2000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"timed out waiting for {what}")
            time.sleep(0.3)

    def _ok(self, *command: str) -> bool:
        return subprocess.run(command, env=self.env, capture_output=True, timeout=30).returncode == 0

    def start(self) -> Cluster:
        for sub in ("state", "spool", "mysql", "munge"):
            (self.folder / sub).mkdir()
        self._munge()
        self._mariadb()
        self._slurmdbd()
        self._write_slurm_conf()
        self._start("slurmctld", _which("slurmctld"), "-D", "-f", str(self.conf))
        self._wait("slurmctld", lambda: self._ok("scontrol", "ping"))
        subprocess.run(["sacctmgr", "-i", "add", "cluster", "bench"], env=self.env, capture_output=True, timeout=30)
        self._start("slurmd", _which("slurmd"), "-D", "-f", str(self.conf), "-N", self.name)
        self._wait("the node to be idle", lambda: "idle" in subprocess.run(
            ["sinfo", "-h", "-o", "%t"], env=self.env, capture_output=True, text=True, timeout=30).stdout)
        return self

    def _munge(self) -> None:
        Path("/run/munge").mkdir(parents=True, exist_ok=True)  # systemd usually makes it
        key = self.folder / "munge" / "munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o400)
        # the default socket: slurmctld's connection to slurmdbd ignores AuthInfo's socket= and dials this one
        self.socket = Path("/run/munge/munge.socket.2")
        munge = self.folder / "munge"
        self._start("munged", _which("munged"), "-F", "--force", f"--key-file={key}", f"--socket={self.socket}",
                    f"--pid-file={munge / 'munged.pid'}", f"--seed-file={munge / 'seed'}",
                    f"--log-file={munge / 'munged.log'}")
        self._wait("munged", lambda: self.socket.exists())

    def _mariadb(self) -> None:
        data = self.folder / "mysql"
        subprocess.run([_which("mariadb-install-db"), f"--datadir={data}", "--user=root",
                        "--auth-root-authentication-method=normal", "--skip-test-db"], check=True,
                       capture_output=True, timeout=120)
        self.db_socket = self.folder / "mysql.sock"
        self._start("mariadbd", _which("mariadbd"), "--no-defaults", f"--datadir={data}", "--user=root",
                    f"--socket={self.db_socket}", f"--port={self.ports['db']}", "--bind-address=127.0.0.1",
                    f"--pid-file={self.folder / 'mariadbd.pid'}", "--skip-log-bin")
        self._wait("mariadb", lambda: self.db_socket.exists())

    def _slurmdbd(self) -> None:
        conf = self.folder / "slurmdbd.conf"
        conf.write_text(f"""AuthType=auth/munge
DbdHost={self.name}
DbdAddr=127.0.0.1
DbdPort={self.ports['dbd']}
SlurmUser=root
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort={self.ports['db']}
StorageUser=root
StorageLoc=slurm_acct
LogFile={self.folder / 'slurmdbd.log'}
PidFile={self.folder / 'slurmdbd.pid'}
""")
        conf.chmod(0o600)  # slurmdbd refuses a config others can read
        self._start("slurmdbd", _which("slurmdbd"), "-D")
        self._wait("slurmdbd", lambda: _port_open(self.ports["dbd"]))

    def _write_slurm_conf(self) -> None:
        probe = subprocess.run([_which("slurmd"), "-C"], capture_output=True, text=True, check=True, timeout=30)
        cpus = re.search(r"CPUs=(\d+)", probe.stdout).group(1)
        memory = re.search(r"RealMemory=(\d+)", probe.stdout).group(1)
        self.conf.write_text(f"""ClusterName=bench
SlurmctldHost={self.name}(127.0.0.1)
SlurmctldPort={self.ports['ctld']}
SlurmdPort={self.ports['slurmd']}
AuthType=auth/munge
AuthInfo=cred_expire=10
MailProg=/bin/true
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation={self.folder / 'state'}
SlurmdSpoolDir={self.folder / 'spool'}
SlurmctldPidFile={self.folder / 'slurmctld.pid'}
SlurmdPidFile={self.folder / 'slurmd.pid'}
SlurmctldLogFile={self.folder / 'slurmctld.log'}
SlurmdLogFile={self.folder / 'slurmd.log'}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
ReturnToService=2
KillWait=5
SchedulerType=sched/backfill
SchedulerParameters=bf_interval=1,sched_interval=2
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SlurmctldParameters=preempt_send_user_signal
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=127.0.0.1
AccountingStoragePort={self.ports['dbd']}
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
NodeName={self.name} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={memory} State=UNKNOWN
PartitionName=debug Nodes={self.name} Default=YES MaxTime=INFINITE State=UP
""")

    def stop(self) -> None:
        for name in ("slurmd", "slurmctld", "slurmdbd", "mariadbd", "munged"):
            process = self.processes.get(name)
            if process is None or process.poll() is not None:
                continue
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0
