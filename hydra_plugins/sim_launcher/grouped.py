"""Runs grouped into array tasks: hydra-submitit-launcher with ``runs_per_task``.

hydra-submitit-launcher submits one Slurm array task per run. A sweep of 10,000
short runs then means 10,000 tiny jobs (what cluster administrators ban), and an
array larger than the cluster's ``MaxArraySize`` (often 1001) is refused by
``sbatch``. These launchers (``hydra/launcher=submitit_slurm_grouped`` or
``submitit_local_grouped``; the project's ``hydra/launcher=slurm`` preset uses the
first) take two more settings:

- ``runs_per_task`` (default 1): consecutive runs of the sweep packed into one array
  task, which runs them one after the other, each exactly as a task of its own would
  (its own composed config, run folder, lease, ``error.json`` on failure; a failing
  run does not stop the task's next runs). Resuming the sweep skips complete runs
  and takes over the stale ones of a killed task, run by run.
- ``max_array_size`` (default null: ``MaxArraySize`` from ``scontrol show config``,
  1001 if that cannot be read): when there are more tasks than that, the tasks are
  submitted as several arrays of at most that many tasks.

The local launcher runs at most ``array_parallelism`` tasks at once (submitit's own
local executor would start every task at the same time).
"""

import logging
import re
import subprocess
import time
from dataclasses import dataclass
from typing import Any, Optional

from hydra.core.config_store import ConfigStore
from hydra.core.singleton import Singleton
from hydra.core.utils import JobReturn, JobStatus
from hydra_plugins.hydra_submitit_launcher.config import LocalQueueConf, SlurmQueueConf
from hydra_plugins.hydra_submitit_launcher.submitit_launcher import BaseSubmititLauncher

log = logging.getLogger(__name__)
DEFAULT_MAX_ARRAY_SIZE = 1001  # Slurm's default MaxArraySize
QUEUE_CHECK_S = 15.0  # seconds between two looks at the Slurm queue while waiting
# a task out of the queue this long without a result has ended without one (longer than
# the 60 s attribute cache of a network file system, which may hide a result just written)
GONE_GRACE_S = 90.0


def slurm_max_array_size() -> int:
    """``MaxArraySize`` of the Slurm cluster (``scontrol show config``), or Slurm's
    default 1001 when it cannot be read."""
    try:
        out = subprocess.run(["scontrol", "show", "config"], capture_output=True, text=True,
                             timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        out = ""
    m = re.search(r"^\s*MaxArraySize\s*=\s*(\d+)", out, re.MULTILINE)
    if not m:
        log.warning("MaxArraySize not found in `scontrol show config`; using %d",
                    DEFAULT_MAX_ARRAY_SIZE)
        return DEFAULT_MAX_ARRAY_SIZE
    return int(m.group(1))


def slurm_queue() -> set[str] | None:
    """Ids of this user's jobs in the Slurm queue, array tasks one by one (``123_4``), or
    None if ``squeue`` cannot be asked."""
    try:  # (not -j: squeue exits non-zero once the jobs are gone)
        r = subprocess.run(["squeue", "--me", "-h", "-r", "-o", "%i"], capture_output=True,
                           text=True,
                           timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    return set(r.stdout.split()) if r.returncode == 0 else None


def failed(task: list[tuple[list[str], int]], error: Exception) -> list[JobReturn]:
    """Failed :class:`JobReturn` of every run of a task that did not report back."""
    out = []
    for overrides, _num in task:
        ret = JobReturn(overrides=list(overrides), status=JobStatus.FAILED)
        ret.return_value = error
        out.append(ret)
    return out


def task_results(job, task: list[tuple[list[str], int]]) -> list[JobReturn]:
    """The runs' returns of a finished task; failed ones if the task itself failed."""
    try:
        return job.results()[0]
    except Exception as e:  # the task died (killed, out of time or memory, cancelled)
        log.error("task %s (%d runs) ended without its results: %s", job.job_id, len(task),
                  str(e).splitlines()[0] if str(e) else type(e).__name__)
        return failed(task, e)


def groups_of(items: list, size: int) -> list[list]:
    """``items`` cut into consecutive groups of ``size`` (the last may be shorter)."""
    return [items[i:i + size] for i in range(0, len(items), size)]


class RunGroup:
    """What one array task runs: several Hydra jobs of the sweep, one after the other.

    Args:
        launcher: the launcher (its ``__call__`` runs one Hydra job, as a task of its own
            would).
    """

    def __init__(self, launcher: "BaseSubmititLauncher"):
        self.launcher = launcher

    def __call__(self, jobs: list[tuple[list[str], int]], singleton_state: dict) -> list[JobReturn]:
        """Run the jobs ``(overrides, job number)`` in order; a job whose config cannot be
        composed is returned as failed and the next ones still run."""
        out = []
        for overrides, num in jobs:
            try:
                ret = self.launcher(overrides, "hydra.sweep.dir", num, f"job_id_for_{num}",
                                    singleton_state)
            except Exception as e:  # e.g. the config of this run cannot be composed
                log.error("job #%d (%s) failed: %s", num, " ".join(overrides), e)
                ret = JobReturn(overrides=list(overrides), status=JobStatus.FAILED)
                ret.return_value = e
            out.append(ret)
        return out

    def checkpoint(self, *args: Any, **kwargs: Any) -> Any:
        """Requeued after a timeout or preemption: the whole group again (its complete runs
        are skipped, a killed run's stale lease is taken over)."""
        import submitit  # imported by the task only (Hydra's plugin scan stays fast)

        return submitit.helpers.DelayedSubmission(self, *args, **kwargs)


class _Grouped(BaseSubmititLauncher):
    def __init__(self, runs_per_task: int = 1, max_array_size: int | None = None,
                 **params: Any) -> None:
        if int(runs_per_task) < 1:
            raise ValueError(f"hydra.launcher.runs_per_task={runs_per_task}: must be >= 1")
        if max_array_size is not None and int(max_array_size) < 1:
            raise ValueError(f"hydra.launcher.max_array_size={max_array_size}: must be >= 1")
        super().__init__(**params)
        self.runs_per_task = int(runs_per_task)
        self.max_array_size = None if max_array_size is None else int(max_array_size)

    def _array_size(self) -> int:
        return self.max_array_size or DEFAULT_MAX_ARRAY_SIZE

    def _executor(self):
        import submitit  # imported when a sweep is launched (Hydra's plugin scan stays fast)
        from hydra_plugins.hydra_submitit_launcher.config import BaseQueueConf
        from omegaconf import OmegaConf

        # as BaseSubmititLauncher.launch builds it
        specific_init_keys = {"max_num_timeout"}
        init_params = {"folder": self.params["submitit_folder"]}
        init_params.update({f"{self._EXECUTOR}_{k}": v for k, v in self.params.items()
                            if k in specific_init_keys})
        executor = submitit.AutoExecutor(cluster=self._EXECUTOR, **init_params)
        base = set(OmegaConf.structured(BaseQueueConf).keys())
        init_keys = specific_init_keys | {"submitit_folder"}
        executor.update_parameters(**{k if k in base else f"{self._EXECUTOR}_{k}": v
                                      for k, v in self.params.items() if k not in init_keys})
        return executor

    def launch(self, job_overrides, initial_job_idx: int) -> list[JobReturn]:
        """Submit the sweep's jobs, ``runs_per_task`` per array task, in arrays of at most
        ``max_array_size`` tasks; wait for them; one :class:`JobReturn` per job."""
        import os
        from pathlib import Path

        assert self.config is not None
        jobs = [(list(o), initial_job_idx + i) for i, o in enumerate(job_overrides)]
        assert jobs
        sweep_dir = Path(str(self.config.hydra.sweep.dir))
        sweep_dir.mkdir(parents=True, exist_ok=True)
        if "mode" in self.config.hydra.sweep:
            os.chmod(sweep_dir, mode=int(str(self.config.hydra.sweep.mode), 8))
        tasks = groups_of(jobs, self.runs_per_task)
        arrays = groups_of(tasks, self._array_size())
        log.info("Submitit '%s' sweep output dir : %s: %d runs in %d tasks (%d per task), "
                 "%d array(s)", self._EXECUTOR, sweep_dir, len(jobs), len(tasks),
                 self.runs_per_task, len(arrays))
        executor = self._executor()
        state = Singleton.get_state()
        group = RunGroup(self)
        return self._submit_and_wait(executor, group, arrays, state)

    def _submit_and_wait(self, executor, group, arrays, state) -> list[JobReturn]:
        submitted = []
        for array in arrays:
            jobs = executor.map_array(group, array, [state] * len(array))
            submitted += list(zip(jobs, array, strict=True))
        results: dict[int, list[JobReturn]] = {}
        gone_since: dict[int, float] = {}
        checked = 0.0
        while len(results) < len(submitted):
            for i, (job, task) in enumerate(submitted):
                if i not in results and job.done():
                    results[i] = task_results(job, task)
            if len(results) < len(submitted) and time.time() - checked > QUEUE_CHECK_S:
                # a task cancelled or killed leaves no result; without Slurm accounting
                # (sacct) submitit cannot tell and would wait for it for ever
                checked, queue = time.time(), self._in_queue()
                for i, (job, task) in enumerate(submitted):
                    if i in results or queue is None or job.job_id in queue:
                        gone_since.pop(i, None)
                    elif time.time() - gone_since.setdefault(i, time.time()) > GONE_GRACE_S \
                            and not job.done():
                        results[i] = failed(task, RuntimeError(
                            f"Slurm job {job.job_id} left the queue without a result "
                            "(cancelled or killed); its runs are redone on resume"))
            time.sleep(1)
        return [ret for i in range(len(submitted)) for ret in results[i]]

    def _in_queue(self) -> set[str] | None:
        """Ids of this user's jobs in the Slurm queue (array tasks one by one), or None."""
        return slurm_queue()


class GroupedSlurmLauncher(_Grouped):
    """hydra-submitit-launcher's Slurm launcher with runs grouped into array tasks."""

    _EXECUTOR = "slurm"

    def _array_size(self) -> int:
        return self.max_array_size or slurm_max_array_size()


class GroupedLocalLauncher(_Grouped):
    """hydra-submitit-launcher's local launcher with runs grouped into tasks, at most
    ``array_parallelism`` tasks at once."""

    _EXECUTOR = "local"

    def __init__(self, array_parallelism: int = 2, **params: Any) -> None:
        super().__init__(**params)
        self.array_parallelism = max(1, int(array_parallelism))

    def _submit_and_wait(self, executor, group, arrays, state) -> list[JobReturn]:
        waiting = [task for array in arrays for task in array]
        running, done = [], {}
        order = list(range(len(waiting)))
        queue = list(zip(order, waiting, strict=True))
        while queue or running:
            while queue and len(running) < self.array_parallelism:
                i, task = queue.pop(0)
                running.append((i, executor.submit(group, task, state)))
            time.sleep(0.2)
            for item in [r for r in running if r[1].done()]:
                running.remove(item)
                done[item[0]] = task_results(item[1], waiting[item[0]])
        return [ret for i in order for ret in done[i]]


@dataclass
class GroupedSlurmConf(SlurmQueueConf):
    """``submitit_slurm`` with ``runs_per_task`` and ``max_array_size``."""

    _target_: str = "hydra_plugins.sim_launcher.grouped.GroupedSlurmLauncher"
    runs_per_task: int = 1
    max_array_size: Optional[int] = None  # noqa: UP045 (OmegaConf reads Optional)


@dataclass
class GroupedLocalConf(LocalQueueConf):
    """``submitit_local`` with ``runs_per_task`` and ``array_parallelism``."""

    _target_: str = "hydra_plugins.sim_launcher.grouped.GroupedLocalLauncher"
    runs_per_task: int = 1
    max_array_size: Optional[int] = None  # noqa: UP045 (OmegaConf reads Optional)
    array_parallelism: int = 2


ConfigStore.instance().store(group="hydra/launcher", name="submitit_slurm_grouped",
                             node=GroupedSlurmConf, provider="sim")
ConfigStore.instance().store(group="hydra/launcher", name="submitit_local_grouped",
                             node=GroupedLocalConf, provider="sim")
