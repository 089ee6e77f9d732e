"""Helpers shared by the Python tests of the generated bindings (standard library only).

The server comes from the environment: MAPFRAME_SERVER_URL, MAPFRAME_PROJECT, MAPFRAME_PASSWORD;
MAPFRAME_CONTROL=1 when it is the contract server with its /test/ routes.
"""

import json
import os
import urllib.request

import mobile_bindings as mb

URL = os.environ.get("MAPFRAME_SERVER_URL", "")
PROJECT = os.environ.get("MAPFRAME_PROJECT", "")
PASSWORD = os.environ.get("MAPFRAME_PASSWORD", "pw")
CONTROL = os.environ.get("MAPFRAME_CONTROL") == "1"

A = mb.AnswerValue


def phone(path, user, sync=True):
    """A phone: its store opened, signed in, optionally synced."""
    s = mb.FieldStore.open(path)
    s.set_retry_policy(mb.RetryPolicy(attempts=10, base_delay_ms=100, max_delay_ms=1500, timeout_ms=20000))
    s.sign_in(URL, PROJECT, user, PASSWORD)
    if sync:
        report = s.sync()
        assert report.synced, report
    return s


def http(method, path, body=None, content_type="application/json", token=None):
    """A plain HTTP exchange with the server: (status, body bytes)."""
    req = urllib.request.Request(URL + path, data=body, method=method)
    req.add_header("Content-Type", content_type)
    req.add_header("Accept", content_type)
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def fault(kind, count):
    """Contract server only: the next `count` requests fail as `kind`."""
    status, _ = http("POST", "/test/fault", json.dumps({"kind": kind, "count": count}).encode())
    assert status == 200


def generic_answer(q):
    """A plausible answer for any question (the first choice, 1, a point, text)."""
    if q.choices:
        return A.CHOICE(name=q.choices[0].name)
    if q.type_word == "integer":
        return A.INTEGER(value=1)
    if q.type_word == "decimal":
        return A.DECIMAL(value=1000.0)
    if q.type_word == "geopoint":
        return A.LOCATION(point=mb.Point(lon=102.71, lat=25.04, accuracy_m=5.0))
    return A.TEXT(value="x")


def interview(s, case, members, language="zh", answers=None, respondent_table="E1"):
    """Runs a whole household interview: consent, the roster, the respondent, the rest; records
    the visit and the disposition, and submits. Returns the roster instance ids."""
    answers = answers or {}
    s.start_interview(case, language)
    s.go_to(case, "consent", [])
    s.answer(case, A.CHOICE(name="yes"))
    v = s.next(case)
    assert v.question.name == "hh_size", v.question
    s.answer(case, A.INTEGER(value=len(members)))
    s.next(case)
    ids = []
    for name, sex, age, relation in members:
        mid = s.add_member(case, "members", [])
        ids.append(mid)
        values = {
            "member_name": A.TEXT(value=name),
            "sex": A.CHOICE(name=sex),
            "age": A.INTEGER(value=age),
            "relation": A.CHOICE(name=relation),
            "present": A.CHOICE(name="yes"),
        }
        v = s.current(case)
        while v.question is not None and v.question.instances == [mid]:
            if v.question.name in values:
                s.answer(case, values[v.question.name])
            v = s.next(case)
    s.select_respondent(case, "members", mb.RespondentRule.KISH(table=respondent_table))
    v = s.current(case)
    for _ in range(100):
        if v.at_end:
            break
        q = v.question
        if q.value is None and not q.read_only and not q.type_word.startswith("note"):
            s.answer(case, answers.get(q.name) or generic_answer(q))
        v = s.next(case)
    assert v.at_end and v.submittable, v.issues
    s.record_visit(case, mb.VisitInput(result="1.1", note="completed at the first visit"))
    s.set_disposition(case, "1.1")
    assert s.submit(case).status == "submitted"
    return ids
