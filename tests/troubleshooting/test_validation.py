"""Tree files that are wrong are refused with every problem, each with file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.errors import SourceError
from gateway.troubleshooting.errors import UnknownTreeError
from gateway.troubleshooting.tree import TreeCatalog, load_tree

HEAD = "id: demo\ntitle: Demo\nstart: ask\nnodes:\n"
ASK = (
    "  ask:\n    type: question\n    text: Is it on?\n    fact: power\n"
    "    branches:\n      - {equals: true, goto: done}\n      - {equals: false, goto: done}\n"
)
DONE = "  done:\n    type: outcome\n    result: resolved\n    summary: fixed\n"


def problems(tmp_path: Path, text: str, workflows: list[str] | None = None) -> list[str]:
    path = tmp_path / "tree.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SourceError) as caught:
        load_tree(path, workflows)
    return [str(problem).replace(str(path), "tree.yaml") for problem in caught.value.problems]


def test_a_sound_tree_loads_with_its_digest_and_edges(tmp_path: Path) -> None:
    path = tmp_path / "tree.yaml"
    path.write_text(HEAD + ASK + DONE, encoding="utf-8")
    tree = load_tree(path)
    assert tree.id == "demo"
    assert tree.version == 1
    assert tree.digest.startswith("sha256:")
    assert [edge.target for edge in tree.edges["ask"]] == ["done", "done"]
    assert [node_id for node_id, _ in tree.questions()] == ["ask"]


def test_a_node_of_an_unknown_type_is_named_with_its_line(tmp_path: Path) -> None:
    found = problems(tmp_path, HEAD + "  ask:\n    type: riddle\n")
    assert found[0].startswith("tree.yaml:5: nodes.ask: Input tag 'riddle'")


def test_a_branch_to_a_node_that_does_not_exist_is_dangling(tmp_path: Path) -> None:
    text = HEAD + ASK.replace("{equals: false, goto: done}", "{equals: false, goto: gone}") + DONE
    assert problems(tmp_path, text) == [
        "tree.yaml:11: node ask: branch goes to unknown node 'gone'"
    ]


def test_a_missing_start_node_is_reported(tmp_path: Path) -> None:
    text = HEAD.replace("start: ask", "start: nowhere") + ASK + DONE
    assert problems(tmp_path, text) == ["tree.yaml:3: start node 'nowhere' does not exist"]


def test_a_node_no_path_reaches_is_unreachable(tmp_path: Path) -> None:
    text = HEAD + ASK + DONE + DONE.replace("  done:", "  orphan:")
    assert problems(tmp_path, text) == [
        "tree.yaml:16: node orphan cannot be reached from the start"
    ]


def test_a_loop_without_max_visits_is_refused(tmp_path: Path) -> None:
    text = (
        HEAD
        + ASK.replace("{equals: false, goto: done}", "{equals: false, goto: again}")
        + (
            "  again:\n    type: question\n    text: Again?\n    fact: again\n"
            "    branches:\n      - {equals: true, goto: ask}\n"
            "      - {equals: false, goto: done}\n"
        )
        + DONE
    )
    found = problems(tmp_path, text)
    assert found[0].startswith("tree.yaml:5: loop without a guard: ask -> again -> ask")
    assert "node ask: facts.power" not in " ".join(found)


def test_a_self_loop_with_max_visits_and_exhausted_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "tree.yaml"
    guarded = ASK.replace("{equals: false, goto: done}", "{equals: false, goto: ask}").replace(
        "    fact: power\n", "    fact: power\n    max_visits: 2\n    exhausted: done\n"
    )
    path.write_text(HEAD + guarded + DONE, encoding="utf-8")
    assert load_tree(path).node("ask").max_visits == 2


def test_a_branch_that_never_reaches_an_outcome_is_refused(tmp_path: Path) -> None:
    text = (
        HEAD
        + ASK.replace("{equals: false, goto: done}", "{equals: false, goto: spin}")
        + (
            "  spin:\n    type: question\n    text: Spin?\n    fact: spin\n    max_visits: 2\n"
            "    exhausted: spin\n    default: spin\n"
        )
        + DONE
    )
    assert problems(tmp_path, text) == [
        "tree.yaml:12: node spin: no branch from here ever reaches an outcome"
    ]


def test_conditions_that_do_not_parse_or_read_unknown_names_are_refused(tmp_path: Path) -> None:
    text = (
        HEAD
        + (
            "  ask:\n    type: decision\n    branches:\n"
            "      - {when: 'facts.power ==', goto: done}\n"
            "      - {when: 'ticket.priority == 1', goto: done}\n"
            "      - {when: 'result.ok', goto: done}\n"
            "      - {when: 'facts == 1', goto: done}\n"
            "      - {when: 'facts.nobody_sets_this', goto: done}\n"
            "      - {equals: 3, goto: done}\n"
            "    default: done\n"
        )
        + DONE
    )
    found = problems(tmp_path, text)
    assert found[0] == "tree.yaml:13: node ask: equals is for question branches; use when"
    assert found[1].startswith("tree.yaml:8: node ask: condition does not parse:")
    assert found[2:] == [
        "tree.yaml:9: node ask: ticket.priority: only facts may be read here",
        "tree.yaml:10: node ask: result.ok: only facts may be read here",
        "tree.yaml:11: node ask: facts: name a fact, facts.NAME",
        "tree.yaml:12: node ask: facts.nobody_sets_this: no question, diagnostic or action sets "
        "this fact",
    ]


def test_a_fact_read_before_every_path_sets_it_is_refused(tmp_path: Path) -> None:
    text = (
        HEAD
        + ASK.replace("{equals: true, goto: done}", "{equals: true, goto: later}")
        + (
            "  later:\n    type: question\n    text: Lights?\n    fact: lights\n"
            "    default: check\n"
            "    answer: text\n"
            "  check:\n    type: decision\n    branches:\n"
            "      - {when: facts.lights == 'x', goto: done}\n"
            "    default: done\n"
            "  done:\n    type: outcome\n    result: resolved\n"
            "    summary: '{{ facts.lights }} and {{ facts.power }}'\n"
        )
    )
    assert problems(tmp_path, text) == [
        "tree.yaml:26: node done: facts.lights is used before it can be known (some path to "
        "here does not set it)"
    ]


def test_diagnostic_and_action_nodes_are_checked(tmp_path: Path) -> None:
    text = (
        HEAD.replace("start: ask", "start: probe")
        + (
            "  probe:\n    type: diagnostic\n    check: tcp\n    with: {host: a, colour: [red]}\n"
            "    fact: probe\n    provides: {Bad-Name: result.ok}\n"
            "    branches:\n      - {when: 'result.ok', goto: fix}\n"
            "    fallback: fix\n"
            "  fix:\n    type: action\n    workflow: reboot\n"
            "    with: {host: '{{ facts.probe.detail'}\n"
            "    fact: fix\n    succeeded: done\n    failed: done\n"
        )
        + DONE
    )
    found = problems(tmp_path, text, workflows=["account-unlock"])
    assert found[:4] == [
        "tree.yaml:5: node probe: a diagnostic node needs a default branch",
        "tree.yaml:8: node probe: tcp has no parameter 'colour'",
        "tree.yaml:8: node probe: tcp needs port",
        "tree.yaml:10: 'Bad-Name' is not a valid fact name",
    ]
    assert found[4] == "tree.yaml:16: node fix: unknown workflow 'reboot' (known: account-unlock)"
    assert found[5].startswith("tree.yaml:17: node fix: template does not parse:")


def test_question_answers_are_checked_against_the_answer_type(tmp_path: Path) -> None:
    text = (
        "id: demo\ntitle: Demo\nstart: ask\ninputs:\n  colour: {type: text}\n"
        + ("  Bad Name: {type: text}\n  pick: {type: choice}\n")
        + "nodes:\n"
        + (
            "  ask:\n    type: question\n    text: Which?\n    answer: choice\n"
            "    choices: [red, blue]\n    fact: colour\n    examples: [green]\n"
            "    branches:\n      - {equals: green, goto: done}\n"
            "      - {equals: red, goto: done}\n"
        )
        + DONE
    )
    assert problems(tmp_path, text) == [
        "tree.yaml:6: input 'Bad Name' is not a valid fact name",
        "tree.yaml:7: input pick: choices go with type choice",
        "tree.yaml:17: node ask: 'green' is not a possible choice answer",
        "tree.yaml:15: node ask: example 'green' is not a possible choice answer",
        "tree.yaml:9: node ask: answers 'blue' have no branch and no default",
        "tree.yaml:14: node ask: fact colour is an input of type text, the question answers choice",
    ]


@pytest.mark.parametrize(
    ("model_error", "snippet"),
    [
        ("a branch has either when or equals", "{goto: done}"),
        ("max_visits and exhausted go together", "{equals: true, goto: done, label: x}"),
    ],
    ids=["a branch without a test", "a guard without its exit"],
)
def test_the_models_refuse_half_written_nodes(
    tmp_path: Path, model_error: str, snippet: str
) -> None:
    node = ASK.replace("{equals: true, goto: done}", snippet)
    if "label" in snippet:
        node = node.replace("    fact: power\n", "    fact: power\n    max_visits: 2\n")
    found = problems(tmp_path, HEAD + node + DONE)
    assert model_error in found[0]


def test_choices_must_be_given_once_for_a_choice_question(tmp_path: Path) -> None:
    node = ASK.replace(
        "    fact: power\n", "    fact: power\n    answer: choice\n    choices: [a, a]\n"
    )
    assert "choices must not repeat" in problems(tmp_path, HEAD + node + DONE)[0]
    node = ASK.replace("    fact: power\n", "    fact: power\n    answer: choice\n")
    assert "choices go with answer: choice" in problems(tmp_path, HEAD + node + DONE)[0]


def test_the_catalog_lists_every_problem_of_every_file_and_ids_used_twice(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(HEAD + ASK + DONE, encoding="utf-8")
    (tmp_path / "b.yaml").write_text(HEAD + ASK + DONE, encoding="utf-8")
    (tmp_path / "c.yaml").write_text("id: [", encoding="utf-8")
    with pytest.raises(SourceError) as caught:
        TreeCatalog.load(tmp_path)
    found = [str(problem) for problem in caught.value.problems]
    assert found[0] == f"{tmp_path / 'b.yaml'}:1: tree id 'demo' is also defined in " + str(
        tmp_path / "a.yaml:1"
    )
    assert found[1].startswith(f"{tmp_path / 'c.yaml'}:1: ")


def test_an_unknown_tree_names_the_known_ones(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(HEAD + ASK + DONE, encoding="utf-8")
    catalog = TreeCatalog.load(tmp_path)
    with pytest.raises(UnknownTreeError, match="unknown tree 'nope'; known: demo"):
        catalog.get("nope")
    assert [tree.id for tree in catalog] == ["demo"]
    with pytest.raises(UnknownTreeError, match="known: none"):
        TreeCatalog.load(tmp_path / "missing").get("demo")


def test_a_free_text_question_needs_a_default(tmp_path: Path) -> None:
    node = ASK.replace("    fact: power\n", "    fact: power\n    answer: text\n")
    node = node.replace("      - {equals: true, goto: done}\n      - {equals: false, goto: done}\n",
                        "      - {equals: x, goto: done}\n")  # fmt: skip
    assert problems(tmp_path, HEAD + node + DONE) == [
        "tree.yaml:5: node ask: a text question needs a default branch"
    ]
