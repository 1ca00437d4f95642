"""Progress lines for long calls, printed the scikit-learn way when ``verbose > 0``.

Every long-running call of skgan (training, feature extraction, neighbour
searches, memorization audits) reports through :class:`ProgressReporter`, so
that they all print the same kind of line to standard output::

    [fit] 3/10 epochs, elapsed 12.3s, about 28.7s left - d_loss 1.3863 ...

one per epoch, chunk of steps, batch or phase, with the time elapsed since the
call started and an estimate of the time left (elapsed time per unit of work
done, times the units left). Nothing is printed with ``verbose=0``.

To report the progress of a new loop, make one reporter per call and update
it after each unit of work, or wrap the iterable with :func:`track`::

    progress = ProgressReporter("augment", total=len(classes), unit="classes",
                                verbose=self.verbose)
    for label in classes:
        ...
        progress.update(detail=f"class {label!r}")
"""

from __future__ import annotations

import math
import numbers
import sys
import time

__all__ = ["ProgressReporter", "format_duration", "progress_line", "track"]


def format_duration(seconds):
    """``"12.3s"``, ``"2m05s"`` or ``"1h02m"``: a duration for a progress line.

    Parameters
    ----------
    seconds : float
        A duration, >= 0.

    Returns
    -------
    text : str
    """
    seconds = max(0.0, float(seconds))
    if seconds < 59.95:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def progress_line(phase, done, total, elapsed, *, unit=None, detail=None, left=None):
    """The text of one progress line.

    Parameters
    ----------
    phase : str
        What is running, shown in brackets (``"fit"``, ``"features of X"``).
    done, total : int
        Units of work finished, and in all.
    elapsed : float
        Seconds since the work started.
    unit : str, default=None
        Name of the units (``"epochs"``, ``"images"``), after the counts.
    detail : str, default=None
        Appended after a dash (losses, the name of the current phase).
    left : float, default=None
        Seconds left; None estimates them from the pace so far.

    Returns
    -------
    line : str
        ``"[fit] 3/10 epochs, elapsed 12.3s, about 28.7s left - detail"``;
        ``"done"`` instead of the estimate once ``done >= total``.
    """
    if left is None:
        left = elapsed / done * (total - done) if done > 0 else math.inf
    counts = f"{done}/{total}" + (f" {unit}" if unit else "")
    if done >= total:
        when = "done"
    elif math.isfinite(left):
        when = f"about {format_duration(left)} left"
    else:
        when = "time left unknown"
    line = f"[{phase}] {counts}, elapsed {format_duration(elapsed)}, {when}"
    return line + (f" - {detail}" if detail else "")


def _check_count(value, name, minimum):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r}.")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}.")
    return int(value)


class ProgressReporter:
    """Print progress lines with elapsed time and time left, when verbose.

    Parameters
    ----------
    phase : str
        What is running, shown in brackets at the start of each line.
    total : int
        Units of work in all (epochs, steps, images, phases), >= 1.
    verbose : int, default=0
        Print when > 0; nothing at all when 0.
    unit : str, default=None
        Name of the units, shown after the counts.
    every : int, default=1
        Print when the count passes a multiple of ``every`` (and always for
        the last unit): ``every=total // 10`` gives about ten lines.
    min_interval : float, default=0.0
        Also wait at least this many seconds after the start and between two
        lines (the last unit is always printed).
    time_limit : float, default=None
        Seconds after which the work stops anyway (``max_time``); the
        estimate of the time left never exceeds what remains of it.
    file : file-like, default=None
        Where lines go; None is ``sys.stdout`` at the time of printing.
    clock : callable, default=time.perf_counter
        Returns the current time in seconds.

    Attributes
    ----------
    done : int
        Units finished so far.
    lines : list of str
        The lines printed so far.
    """

    def __init__(
        self,
        phase,
        total,
        *,
        verbose=0,
        unit=None,
        every=1,
        min_interval=0.0,
        time_limit=None,
        file=None,
        clock=time.perf_counter,
    ):
        if not isinstance(phase, str):
            raise TypeError(f"phase must be a string, got {phase!r}.")
        self.phase = phase
        self.total = _check_count(total, "total", 1)
        self.verbose = _check_count(verbose, "verbose", 0)
        self.unit = unit
        self.every = _check_count(every, "every", 1)
        self.min_interval = float(min_interval)
        self.time_limit = None if time_limit is None else float(time_limit)
        self.file = file
        self.clock = clock
        self.start = self._last_time = self.clock()
        self._last_done = 0
        self.done = 0
        self.lines = []

    @property
    def elapsed(self):
        """Seconds since the reporter was made."""
        return self.clock() - self.start

    def update(self, done=None, *, advance=1, detail=None, force=False):
        """Record progress and print a line if one is due.

        Parameters
        ----------
        done : int, default=None
            Units finished so far; None adds ``advance`` to the count.
        advance : int, default=1
            Units just finished, when ``done`` is None.
        detail : str or callable, default=None
            Appended to the line; a callable is called only when a line is
            printed (for details that cost something to format).
        force : bool, default=False
            Print a line even if none is due (when verbose).

        Returns
        -------
        line : str or None
            The line printed, or None.
        """
        self.done = int(self.done + advance if done is None else done)
        if not self.verbose:
            return None
        now = self.clock()
        finished = self.done >= self.total
        due = self.done // self.every > self._last_done // self.every
        if now - self._last_time < self.min_interval:
            due = False
        if not (finished or due or force):
            return None
        elapsed = now - self.start
        left = None
        if self.time_limit is not None and self.done > 0:
            pace = elapsed / self.done * (self.total - self.done)
            left = min(pace, max(self.time_limit - elapsed, 0.0))
        if callable(detail):
            detail = detail()
        line = progress_line(
            self.phase,
            self.done,
            self.total,
            elapsed,
            unit=self.unit,
            detail=detail,
            left=left,
        )
        print(line, file=self.file or sys.stdout, flush=True)
        self.lines.append(line)
        self._last_time, self._last_done = now, self.done
        return line


def track(iterable, phase, *, verbose=0, total=None, unit=None, detail=None):
    """Yield the items of ``iterable``, printing a progress line after each.

    Parameters
    ----------
    iterable : iterable
        The work, one item per unit.
    phase : str
        Shown in brackets at the start of each line.
    verbose : int, default=0
        Print when > 0.
    total : int, default=None
        Number of items; default ``len(iterable)``.
    unit : str, default=None
        Name of the units.
    detail : callable, default=None
        ``detail(item)`` is appended to the item's line (called only when
        ``verbose > 0``).

    Yields
    ------
    item
        Each item, before its line is printed.
    """
    total = len(iterable) if total is None else total
    if total == 0:
        return
    progress = ProgressReporter(phase, total, verbose=verbose, unit=unit)
    if not progress.verbose:
        detail = None
    for item in iterable:
        yield item
        progress.update(detail=None if detail is None else detail(item))
