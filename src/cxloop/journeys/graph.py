"""The checks on a journey's graph that a JSON Schema cannot express: every step id named exists, ids are unique,
every step can be reached from the start, every loop waits somewhere (else a customer would spin through it), and
without a goal every step has a way on to an exit."""

from __future__ import annotations

from collections.abc import Mapping

from cxloop.journeys.elements import ExitStep, JourneyDocument, WaitStep, edges


def _add(problems: dict[str, str], path: str, reason: str) -> None:
    if path in problems:
        if reason not in problems[path].split("; "):
            problems[path] = f"{problems[path]}; {reason}"
    else:
        problems[path] = reason


def check_graph(document: JourneyDocument) -> dict[str, str]:
    """Path → reason for each graph problem; empty when the journey can run."""
    problems: dict[str, str] = {}
    index: dict[str, int] = {}
    for n, step in enumerate(document.steps):
        if step.id in index:
            _add(problems, f"steps[{n}].id", f"the id {step.id!r} is already used by steps[{index[step.id]}]")
        else:
            index[step.id] = n
    graph: dict[str, list[str]] = {step_id: [] for step_id in index}
    for n, step in enumerate(document.steps):
        for edge in edges(step, n):
            if edge.target in index:
                graph[step.id].append(edge.target)
            else:
                _add(problems, edge.path, f"no step has the id {edge.target!r}")
    if document.entry not in index:
        _add(problems, "start", f"no step has the id {document.entry!r}")
        return problems
    targets = {target for step_targets in graph.values() for target in step_targets}
    reached = _reachable(graph, [document.entry])
    for step_id, n in index.items():
        if step_id in reached:
            continue
        if step_id in targets:
            _add(problems, f"steps[{n}]", f"cannot be reached from the start step {document.entry!r}")
        else:
            _add(problems, f"steps[{n}]", f"no step leads here; only the start step {document.entry!r} has no way in")
    _check_loops(document, graph, index, problems)
    if document.goal is None:
        _check_endings(document, graph, {step_id: n for step_id, n in index.items() if step_id in reached}, problems)
    return problems


def _reachable(graph: Mapping[str, list[str]], starts: list[str]) -> set[str]:
    seen, todo = set(starts), list(starts)
    while todo:
        for target in graph.get(todo.pop(), []):
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def _check_loops(
    document: JourneyDocument, graph: dict[str, list[str]], index: dict[str, int], problems: dict[str, str]
) -> None:
    """A loop must contain a wait: without one a customer would cycle through its steps without end."""
    waits = {step.id for step in document.steps if isinstance(step, WaitStep)}
    for component in _strongly_connected(graph):
        looped = len(component) > 1 or component[0] in graph[component[0]]
        if looped and not waits.intersection(component):
            first = min(component, key=index.__getitem__)
            names = ", ".join(sorted(component, key=index.__getitem__))
            _add(problems, f"steps[{index[first]}]", f"the loop through {names} has no wait step; a loop must wait")


def _check_endings(
    document: JourneyDocument, graph: dict[str, list[str]], index: dict[str, int], problems: dict[str, str]
) -> None:
    """Without a goal to end it, every reachable step (in `index`) must have a way on to an exit."""
    reverse: dict[str, list[str]] = {step_id: [] for step_id in graph}
    for source, targets in graph.items():
        for target in targets:
            reverse[target].append(source)
    exits = [step.id for step in document.steps if isinstance(step, ExitStep)]
    can_end = _reachable(reverse, exits)
    for step_id, n in index.items():
        if step_id not in can_end:
            _add(problems, f"steps[{n}]", "no path from here reaches an exit step, and the journey has no goal")


def _strongly_connected(graph: Mapping[str, list[str]]) -> list[list[str]]:
    """Tarjan's algorithm without recursion (documents may hold up to 200 steps)."""
    order: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    for root in graph:
        if root in order:
            continue
        work: list[tuple[str, int]] = [(root, 0)]
        while work:
            node, child = work.pop()
            if child == 0:
                order[node] = low[node] = len(order)
                stack.append(node)
                on_stack.add(node)
            targets = graph[node]
            if child < len(targets):
                work.append((node, child + 1))
                target = targets[child]
                if target not in order:
                    work.append((target, 0))
                elif target in on_stack:
                    low[node] = min(low[node], order[target])
                continue
            if low[node] == order[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                components.append(component)
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return components
