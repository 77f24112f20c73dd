"""A small tree that has one of everything, for the engine's tests."""

LAB_TREE = """\
id: lab
title: Lab
version: 1
start: ask-kind
inputs:
  kind: {type: choice, choices: [net, acct, num]}
  host: {type: text}
  count: {type: integer}
nodes:
  ask-kind:
    type: question
    text: Which kind?
    answer: choice
    choices: [net, acct, num]
    order: success_rate
    fact: kind
    branches:
      - {equals: net, goto: ask-host}
      - {equals: acct, goto: ask-user}
      - {equals: num, goto: ask-count}
  ask-host:
    type: question
    text: Which host?
    answer: text
    fact: host
    default: ping
  ping:
    type: diagnostic
    check: ping
    with: {host: "{{ facts.host }}"}
    timeout_seconds: 0.5
    fact: ping
    provides: {reachable: result.ok}
    branches:
      - {when: result.ok, goto: ask-reachable}
    default: ask-reachable
    fallback: broken
    offline: offline-out
  ask-reachable:
    type: question
    text: Does it answer?
    fact: reachable
    branches:
      - {equals: true, goto: resolved-net}
      - {equals: false, goto: escalate-net}
  ask-user:
    type: question
    text: Which user?
    answer: text
    max_length: 8
    fact: user
    default: unlock
  unlock:
    type: action
    workflow: account-unlock
    with: {user: "{{ facts.user }}"}
    fact: unlock
    succeeded: resolved-acct
    failed: escalate-acct
  ask-count:
    type: question
    text: How many?
    answer: integer
    minimum: 1
    maximum: 10
    fact: count
    max_visits: 2
    exhausted: escalate-net
    branches:
      - {when: "result == 7 && facts.count.nope", goto: many}
      - {when: "result > 5", goto: many}
    default: pick-fix
  pick-fix:
    type: decision
    order: success_rate
    branches:
      - {when: "facts.count < 3", goto: fix-a}
      - {when: "facts.count < 5", goto: fix-b}
    default: ask-count
  fix-a:
    type: outcome
    result: resolved
    summary: "fixed with a for {{ facts.count }}"
  fix-b:
    type: outcome
    result: escalate
    escalate_to: team-b
    summary: b did not help
  many:
    type: outcome
    result: escalate
    summary: too many
  resolved-net:
    type: outcome
    result: resolved
    summary: "{{ facts.host }} answers"
  escalate-net:
    type: outcome
    result: escalate
    summary: network
  broken:
    type: outcome
    result: escalate
    summary: "check failed: {{ facts.ping.status }}"
  offline-out:
    type: outcome
    result: escalate
    summary: offline
  resolved-acct:
    type: outcome
    result: resolved
    summary: "{{ facts.user }} unlocked"
  escalate-acct:
    type: outcome
    result: escalate
    summary: "unlock {{ facts.unlock.state }}"
"""
