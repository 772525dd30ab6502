"""bench/results.md: the table, the machine, and what was done where a target was missed."""

from __future__ import annotations

import json
import re
from dataclasses import asdict
from datetime import datetime
from pathlib import Path

from .common import Result

# Kept here (not in results.md by hand) so `make bench` rewrites the whole file.
WHAT_WAS_DONE = """\
Each miss was profiled (pyinstrument, cProfile, SQLite query plans, per-statement timings) and
fixed in the product code; the whole test suite stays green. In order of effect:

- **`can_upload` (was 0.01 of its baseline: 405 µs a check on 20,000 videos).** The rules query's
  duplicate subqueries (same checksum / same source URL already on the channel) were planned from
  the channel's uploads, so each check walked every published upload of the channel: it grew with
  the registry. `CROSS JOIN` fixes the join order (the checksum's index first), in
  `database/uploads.py` `_RULES_SQL`. Then, per check: the query reads only the columns every
  check needs and compares rowids (no table lookup); `evaluate_upload` unpacks the row once,
  reads the clock, the checksum and the post id only on the branches that need them;
  `file_state` tests the stat it already has instead of a second stat (`os.path.isfile`);
  `Verdict` is a named tuple and the status a dict lookup; `VideoRegistry.can_upload` gives the
  channel id straight to the rules query (a default channel's id is its platform's name) and
  resolves a name only when that finds no channel. Second pass (0.22 → 0.26): numbered
  parameters (they bind faster than named ones); no same-source lookup for a video without a
  source URL (a `CASE`, not a subquery that finds nothing); for the operator's own file the
  owner's read bit decides readability (exact, ACLs included), so `os.access` is asked only
  otherwise; timestamps are parsed only when present; "OK" is one shared `Verdict`. Third pass:
  the rules row is read as a plain tuple, not the connection's `sqlite3.Row` (5 µs of a 15 µs
  check for this 14-column row). Fourth pass: registry connections keep a 16 MiB page cache
  instead of SQLite's 2,000 KiB, a tenth of this registry, which sent most random reads back to
  the OS (13.13 against 13.55 µs a check, same process, alternating). Fifth pass (0.25–0.28 →
  0.30–0.31): the same-content lookup (1.5 µs, an index search on every check) runs only for a
  video that has a twin, a `content_twin` flag on the video that SQLite triggers keep exact on
  every insert, checksum change and delete (schema migration 3; a randomised test checks the flag
  against a count after each step). Registering in bulk pays ~4 % for the trigger's lookup.
- **`auto_distribute_by_filters` (was 74.7 s).** It built a full `match()` (eight verdicts with
  words) for all 2,000,000 pairs, a skipped entry for each, and an audit event per assignment
  listing every non-matching channel. Now `orchestration/filters.py` judges all pairs at once with
  numpy (`failure_matrix`, the same rules; a property test checks it against `match()` pair by
  pair) and `match()` runs only on matching pairs; `skipped` is a `SkipList` that builds the
  declined pairs' entries when read; the assignment event lists the matching channels that did
  not take the video plus a count of the others, and an unassigned video's event the 10 channels
  that came closest; a filter the channel does not set is recorded as `{"passed": true,
  "active": false}` without boilerplate words; the reason is JSON-encoded once for the row and
  the event (`AuditLog.record_many`, one shared encoder); assignments are written 5,000 per
  transaction with one duplicate check per batch (its `+status` keeps SQLite on the video index:
  the status index walked every assignment, quadratic); distribution ids are time-ordered, so
  inserts append to the primary-key index; the result is built in memory instead of read back.
  Second pass (6.8 s → 3.7–4.3 s, depending on how busy the disk is): CPython's cyclic garbage
  collector walked the growing heap again and again (a third of the run, for objects without
  cycles): it pauses for the run
  (`orchestration/bulk.py: gc_paused`, nesting- and thread-safe). `VideoJudge` judges each distinct
  filter setting once per video (channels share settings) and only the filters a channel sets;
  a reason's JSON is put together from per-verdict pieces made once per run (a test reads every
  stored reason back against the returned one); the audit event says why in words (summary,
  score, rank, each filter's verdict) and leaves the margins to the distribution row; the WAL is
  checkpointed once at the end of the run (`Database.bulk_writes`) instead of after every batch.
  Third pass (3.5–4.3 s → 2.5–2.8 s): the run builds and writes at the same time. Building
  (Python, ~2 s) and writing (SQLite inserts, ~1.5 s) took about as long, one after the other. A
  run expecting at least 10,000 new assignments starts a writer process
  (`orchestration/bulk.py: WriterProcess`) as it begins; each batch goes to it as a pickle file
  in a private temporary folder (the pipe carries only its name, so the run never waits on the
  child) and the child writes it in its own transactions, the batch's rows first and then, on a
  second thread, its audit events; the duplicate check under the write lock is the same code
  either way (`_write_rows`), and a test compares a run written there with one written in-process,
  reason by reason and event by event. The child sends its report when everything is committed
  and then checkpoints both WALs (on two threads) before it exits: the run does not wait for that
  housekeeping. The run also reads only the ten columns of a video it needs. Tried and dropped:
  writing on a second thread (`executemany` lets go of the GIL and takes it back for every row;
  against a busy thread each take waits for the switch interval, so a batch took minutes; many-row
  `VALUES` statements needed a shorter switch interval for the whole process and still lost to
  the child process); each batch as one `json_each` statement (SQLite's JSON parsing cost more
  than the overlap won on two cores); making the reason and event text in the child (pickling
  the verdicts cost more than the strings, and the child became the slower side).
  Fourth pass (2.9–3.7 s → 2.5–2.9 s in standalone runs): the run waited for the writer process
  to exit, not only for its report. The report went out on `sys.stdout`, whose file descriptor
  Python never closes, so the parent saw the end of the pipe only after the child's checkpoints
  (0.5 s, found with timestamps on both sides; the report now has a descriptor of its own, and a
  test holds a child back after its report). `Database.bulk_writes` gives the writing
  connections a 32 MiB page cache: with SQLite's 2,000 KiB a 5,000-row batch spilled dirty pages
  into the WAL before its commit, wrote them again at the commit and read evicted index pages
  back (strace over a run: 179,526 page writes and 139,071 page reads before, ~126,000–136,000
  and 36,000–65,000 after). The distributions a run returns keep their reason as the JSON it
  wrote and make the dict when it is first read: 143,000 fewer objects for the garbage
  collector's next full pass, which the run's own objects set off (0.27 s → 0.14 s).
- **Uploads (was 0.27 of bare Playwright).** `Publisher.upload_all_pending` opened and closed a
  browser and checked the login on a page for every upload. Now each channel's run keeps one
  uploader (one browser), replaced after a failed upload; `check_login` trusts a "logged in"
  seen on the same open browser for 5 minutes (an upload that meets the sign-in page still
  reports `login_required`, and any failed upload forgets it). In `uploaders/playwright_base.py`
  waits look again after 20 ms, growing to `timeouts.poll` (was a fixed 0.2 s), blockers are
  looked for at most twice a second, and the blocker, error and overlay checks ask the browser
  once for all their plain-CSS selectors (`any_visible`). Second pass (0.72–0.87 → 0.93–0.95,
  measured by counting Playwright calls per upload and each process's CPU): ours made ~50 calls
  per upload against the bare script's ~20, and pressed Next only every 70 ms with naps growing
  in between (0.5 s per upload in that loop). Now a step that matched its first selector earlier
  in the browser session is clicked or filled at once (one call; if it is not there within 1 s,
  the full look with every fallback, blockers and overlays takes over, and a test changes the
  site between two uploads); the fill check asks a field's kind once, then reads its text or
  value in one call (`Locator.evaluate` is three); Studio's three Next presses follow each other
  at once; the confirmation wait is one look while nothing shows; and while a platform
  processes, looks thin out to one every 0.5 s (`Timeouts.long_poll`) with blockers once a
  second (YouTube, TikTok, Instagram). ~35 calls per upload; one channel's CPU, all processes
  together, equals the bare script's. The benchmark alternates in four rounds instead of two:
  this VM's speed drifts 10–20 % within a minute.
- **Schedules (passed, with little margin).** `UploadRepository` seeded a new random generator
  (reading the OS's entropy) for every upload; it now shares one. `UploadRecord.from_row` caches
  its field names. Second pass (0.18–0.21 of the baseline → 0.25; py-spy and a timer around every
  COMMIT): a third of the time was COMMIT, and half of that was SQLite's automatic checkpoint,
  which copied the WAL back into the file every ~25 schedules (seven small transactions each);
  a run of schedules now raises that mark to 4,000 pages for its duration
  (`bulk_writes(wal_pages=)`; never checkpointing grew the WAL to 450 MB for 3,000 schedules and
  made every commit slower). The JSON-lines upload log went through `logging`'s rotating handler,
  ~50 µs a line (a record, a formatter, two `stat` calls), two lines per schedule: it is now one
  `write` per line to the same rotated file. The upload claim and finish read the row back with
  `RETURNING`, and a success no longer rewrites the channel row to say "logged in" again. What is
  left: the seven transactions themselves (four in the registry, three in the audit database);
  merging the schedule's and the upload's would need the publisher to run the scheduler's
  bookkeeping inside its own transaction, with a savepoint so that a fault there cannot undo a
  recorded publication.
- **Registration (passed; kept in view).** The content-twin trigger above made every bulk INSERT
  into `videos` slower (0.86 → 0.82): a table with insert triggers gets a statement journal for
  each INSERT, and SQLite writes those to a temporary file past 64 KiB. Registry connections now
  keep temporary storage in memory (`PRAGMA temp_store = MEMORY`): 0.85 → 0.98 back to back. The
  same effect, 1.35 million page writes instead of 130,000 for a distribution run, is why
  `distributions` has no insert trigger for its change counter (its inserts stamp the rev
  themselves).
- **Distribution tab refresh (not in the table; found while looking).** After a run by filters
  every 5-second refresh read the whole run again (1 s on the worker, 130 ms on the GUI thread):
  it asked for `updated_at >=` the newest time seen, and a run stamps all its assignments with one
  time. Distributions and schedules now carry the registry's change counter with an index
  (schema migration 4): a refresh with nothing new takes 3 ms.
- **Start-up benchmark hook.** `ui/main_window.run_window`: with `ASFS_EXIT_WHEN_SHOWN=1` it prints
  `ASFS_SHOWN <time>` once the window is shown with the Videos tab loaded, then closes.
"""

# What a remaining miss comes from, by workload (shown under "What was done" when it misses).
WHY_STILL = {
    "`auto_distribute_by_filters`": (
        "On this 2-core machine the run is two processes each busy about 2 s: building the ~70,000 "
        "assignments with their reasons (Python) and writing them (a distribution row under five "
        "indexes and an audit event under three for each). The figure moves by ±0.3 s with the "
        "machine's load and disk; the run's share of the work left would be per row, not per byte "
        "(empty reasons changed nothing measurable)."),
    "100,000 `can_upload` checks": (
        "What is left is the work a check must do: the rules query reads the video, the channel and "
        "the upload rows (three indexed lookups; a video with a twin also looks for the same content "
        "under other ids), and the file is looked at on disk (a stat). The rules' Python adds ~1.4 µs "
        "to that. The ratio moves by ±0.03 with the machine's load (the baseline's single "
        "small-table SELECT suffers least from a busy machine)."),
    "100 sandbox uploads over 4 channels: throughput": (
        "With four browsers on this 2-core machine the uploads are CPU-bound: the ratio is the two "
        "sides' CPU per upload. Ours still asks the browser ~35 questions per upload against the "
        "bare script's ~20 (the checks for sign-in pages, captchas, errors and overlays, the fill and "
        "radio checks, the login check when a channel's browser starts), and the VM's speed drifts "
        "within a run."),
    "100 sandbox uploads over 4 channels: 4 channels in parallel vs 1": (
        "Four uploads per channel, each waiting 5 s on the platform. A CPU timeline (2 cores) shows "
        "the four-channel run saturated for its first ~7 s: four Playwright drivers (0.5 s of CPU "
        "each) and four Chromiums (0.9 s each) start at once, against 1.75 s for one channel; after "
        "that each upload takes 5.8-6.2 s against 5.5 s alone, because the sandbox page itself polls "
        "its progress every 150 ms (0.85 s of CPU per 5 s wait in each browser, measured with our "
        "looks switched off: ours add almost nothing). Tried this session, each measured in "
        "alternating runs: no separate login page load (no gain), one browser launch at a time (no "
        "gain: the launches only move), reusing the upload tab (no gain), sharing the learnt "
        "selectors between a channel's runs (worse), Chromium flags (under 10 % of a launch), "
        "Playwright drivers kept warm between runs (+0.1). The unchanged workload measured 3.03-3.12x "
        "in this session's separate runs and 2.94-3.24x in full runs; with 6 uploads per channel "
        "it was 3.15x, so it is not only the start."),
}

HOW = """\
Run them with `make bench` (or `.venv/bin/python -m bench`; `python -m bench NAME...` runs some,
`python -m bench --list` names them). Each benchmark measures our code and, in the same run, a
baseline that does the same work the simplest fast way; the ratio is ours ÷ baseline as the target
states it, so a noisy machine moves both. Short measurements are repeated (best of N) with ours and
the baseline interleaved. `make test` runs the same code with tiny sizes
(`tests/test_bench_smoke.py`) so it cannot rot. Nothing reaches the internet: uploads go to the
sandbox platform on 127.0.0.1.
"""

_DATA = re.compile(r"<!-- bench-data: (.*?) -->", re.S)


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render(results: list[Result], machine: dict[str, str], when: datetime, total_s: float, *,
           smoke: bool = False, partial: bool = False) -> str:
    lines = ["# Benchmarks", ""]
    if smoke:
        lines += ["**Smoke run (tiny sizes): these numbers say nothing about speed.**", ""]
    lines += [f"Measured {when.strftime('%Y-%m-%d %H:%M UTC')}"
              + (" (some rows from earlier runs, see the data at the end)" if partial else "")
              + f"; the run took {total_s:.0f} s.", ""]
    lines += ["| Machine | |", "|---|---|"] + [f"| {k} | {_cell(v)} |" for k, v in machine.items()] + [""]
    lines += ["| Workload | Ours | Baseline (same run) | Ratio | Target | Result |", "|---|---|---|---|---|---|"]
    for r in results:
        verdict = "✅ pass" if r.passed else ("—" if r.passed is None else "❌ miss")
        lines.append(f"| {_cell(r.workload)} | {_cell(r.ours)} | {_cell(r.baseline)} | {_cell(r.ratio)} | "
                     f"{_cell(r.target)} | {verdict} |")
    lines += ["", "## Notes", ""]
    for r in results:
        if r.notes:
            lines.append(f"- **{r.workload}**: {r.notes}")
    lines += ["", "## What was done", "", WHAT_WAS_DONE]
    missed = [r for r in results if r.passed is False]
    if missed:
        lines += ["### Still missed in this run", ""]
        for r in missed:
            why = next((text for key, text in WHY_STILL.items() if r.workload.startswith(key)), "")
            lines.append(f"- **{r.workload}** ({r.ours}; target {r.target})" + (f": {why}" if why else "."))
        lines.append("")
    lines += ["## How these are measured", "", HOW]
    data = {"when": when.isoformat(), "rows": [asdict(r) for r in results]}
    lines.append(f"<!-- bench-data: {json.dumps(data, ensure_ascii=False)} -->")
    return "\n".join(lines) + "\n"


def merge(path: Path, new: list[Result]) -> list[Result]:
    """The previous full table with the rows of the workloads just re-run replaced."""
    try:
        old = json.loads(_DATA.search(path.read_text()).group(1))["rows"]
    except (OSError, AttributeError, ValueError, KeyError):
        return new
    fresh = {r.workload for r in new}
    out: list[Result] = []
    placed = False
    for row in old:
        if row["workload"] in fresh:
            if not placed:
                out.extend(new)
                placed = True
            continue
        out.append(Result(**row))
    if not placed:
        out.extend(new)
    return out
