"""Diagnostics reports, runbook checklists and the scenario picker as Block Kit. Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    CheckboxesElement,
    ContextBlock,
    MarkdownTextObject,
    Option,
    SectionBlock,
    StaticSelectElement,
)

import handlers
from bot.probes import Result, State, sort_results
from bot.slack import ids
from bot.slack.blocks import Message, chunk_lines, escape, option, to_dicts, user
from handlers.scenario import Scenario, Step

MAX_DETAILS = 5


def result_line(r: Result, *, markdown: bool = True) -> str:
    """``🔴 FAIL DB connections: 190/200 (95%) — pool nearly exhausted (threshold: warn at 80%...)``."""
    figure = f": {r.figure}" if r.figure else ""
    threshold = f" (threshold: {r.threshold})" if r.threshold else ""
    if not markdown:
        return f"{r.state.value} {r.name}{figure} - {r.summary}{threshold}"
    link = f" <{r.link}|open>" if r.link and r.link.startswith("http") else ""
    return (
        f"{r.state.emoji} *{r.state.value}* {escape(r.name)}{figure} — {escape(r.summary)}{threshold}{link}"
    )


def _lines(results: Sequence[Result]) -> list[str]:
    lines = []
    for r in sort_results(results):
        lines.append(result_line(r))
        lines.extend(f"      • {escape(d)}" for d in r.details[:MAX_DETAILS])
        if len(r.details) > MAX_DETAILS:
            lines.append(f"      • …and {len(r.details) - MAX_DETAILS} more")
    return lines


def tally(results: Sequence[Result]) -> str:
    counts = {s: sum(1 for r in results if r.state is s) for s in State}
    return " · ".join(f"{n} {s.value}" for s, n in counts.items() if n) or "nothing checked"


def _sections(lines: Sequence[str]) -> list[SectionBlock]:
    return [SectionBlock(text=MarkdownTextObject(text=chunk)) for chunk in chunk_lines(lines)]


def diagnostics_message(
    scenario: Scenario, results: Sequence[Result], *, pending: Sequence[str], elapsed: float | None = None
) -> Message:
    """The diagnostics report in an incident's thread; filled in as each check finishes."""
    if pending:
        progress = f"{len(results)} done, {len(pending)} running"
    else:
        took = f" in {elapsed:.1f}s" if elapsed is not None else ""
        progress = f"finished{took}: {tally(results)}"
    head = f":stethoscope: *Diagnostics: {escape(scenario.title)}* ({progress})"
    lines = _lines(results) + [f":hourglass_flowing_sand: {escape(name)}: running…" for name in pending]
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=head)), *_sections(lines)]
    text = "\n".join(
        [f"Diagnostics: {scenario.title} ({progress})"]
        + [result_line(r, markdown=False) for r in sort_results(results)]
        + [f"{n}: running" for n in pending]
    )
    return Message(text=text, blocks=to_dicts(blocks))


def status_message(
    results: Sequence[Result], *, elapsed: float, title: str = "Health at a glance"
) -> Message:
    """``/ops status`` and ``/ops check``: one compact summary, failures first."""
    head = f"*{escape(title)}*: {tally(results)} ({elapsed:.1f}s)"
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=head)), *_sections(_lines(results))]
    text = "\n".join(
        [f"{title}: {tally(results)}"] + [result_line(r, markdown=False) for r in sort_results(results)]
    )
    return Message(text=text, blocks=to_dicts(blocks))


def running_message(what: str, count: int) -> Message:
    return Message(
        text=f":hourglass_flowing_sand: Running {count} check(s) for {what}; results follow in a moment."
    )


def _options(items: Sequence[Step]) -> list[Option]:
    return [option(value=s.key, text=escape(s.text), markdown=True) for s in items]


def checklist_message(
    number: int, scenario: Scenario, checked: Mapping[str, str], *, others: Mapping[str, str] | None = None
) -> Message:
    """The scenario's runbook checklist; checkbox state is shared by everyone in the thread.

    ``others`` (scenario key -> title) fill its "Wrong runbook?" menu, which re-routes the incident.
    """
    intro = f":books: *Runbook: {escape(scenario.title)}*"
    if scenario.runbook_section:
        intro += f" (section {escape(scenario.runbook_section)})"
    intro += f"\n_Symptoms:_ {escape(scenario.symptoms)}"
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=intro))]
    text_lines = [f"Runbook: {scenario.title}"]
    for label, section, items in (
        ("Investigation", "investigation", scenario.investigation),
        ("Resolution", "resolution", scenario.resolution),
    ):
        if not items:
            continue
        options = _options(items[:10])
        initial = [o for o, s in zip(options, items[:10], strict=True) if s.key in checked]
        box = CheckboxesElement(
            action_id=ids.ACTION_CHECKLIST, options=options, initial_options=initial or None
        )
        shown = frozenset(s.key for s in items[:10] if s.key in checked)
        view = ids.ChecklistSection(number, section, shown, scenario.key)
        block_id = view.encode(order=[s.key for s in items[:10]])
        blocks.append(
            SectionBlock(
                block_id=block_id,
                text=MarkdownTextObject(text=f"*{label}*"),
                accessory=box,
            )
        )
        text_lines.append(f"{label}:")
        text_lines += [f"[{'x' if s.key in checked else ' '}] {s.text}" for s in items]
    notes = []
    if scenario.prevention:
        notes.append(f"_Prevention:_ {escape(scenario.prevention)}")
    if scenario.escalate_if:
        notes.append(f"_Escalate if:_ {escape(scenario.escalate_if)}")
    notes.append(f"_Escalate immediately if:_ {handlers.ESCALATE_NOW}")
    notes.append(f"_Escalation path:_ {handlers.ESCALATION_PATH}")
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text="\n".join(notes))]))
    done = [f"✓ {escape(s.text)} ({user(checked[s.key])})" for s in scenario.steps() if s.key in checked]
    if done:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text="\n".join(done))]))
    if others:
        blocks.append(ActionsBlock(block_id=ids.reroute_block(number), elements=[_reroute(number, others)]))
    return Message(text="\n".join(text_lines), blocks=to_dicts(blocks))


def _reroute(number: int, others: Mapping[str, str]) -> StaticSelectElement:
    options = [option(value=ids.ScenarioChoice(number, key).encode(), text=t) for key, t in others.items()]
    return StaticSelectElement(
        action_id=ids.ACTION_SCENARIO, placeholder="Wrong runbook? Switch to…", options=options[:100]
    )


def scenario_picker(number: int) -> Message:
    """Shown when no scenario matched the title: choosing one posts its checklist and diagnostics."""
    options = [
        option(value=ids.ScenarioChoice(number, key).encode(), text=s.title)
        for key, s in handlers.SCENARIOS.items()
    ]
    select = StaticSelectElement(
        action_id=ids.ACTION_SCENARIO, placeholder="Pick a runbook scenario", options=options
    )
    text = "No runbook scenario matched the title. Pick one to get its checklist and diagnostics:"
    block_id = ids.picker_block(number)
    blocks = [SectionBlock(block_id=block_id, text=MarkdownTextObject(text=text), accessory=select)]
    return Message(text=text, blocks=to_dicts(blocks))


def scenario_chosen(scenario: Scenario, actor: str) -> Message:
    text = f":books: Runbook scenario: *{escape(scenario.title)}* (chosen by {user(actor)})"
    return Message(text=text, blocks=to_dicts([SectionBlock(text=MarkdownTextObject(text=text))]))


def plain_report(results: Sequence[Result]) -> list[str]:
    """For the terminal (``opsbot check``): one line a result, details indented."""
    lines = []
    for r in sort_results(results):
        lines.append(result_line(r, markdown=False))
        lines.extend(f"    {d}" for d in r.details[:MAX_DETAILS])
    return lines
