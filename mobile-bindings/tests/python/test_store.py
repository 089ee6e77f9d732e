"""The store through the generated Python bindings: restarts, errors, bring-your-own HTTP."""

import gc
import json
import os
import tempfile
import unittest

import mobile_bindings as mb
from common import A, PASSWORD, PROJECT, URL, http, phone


class Store(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.dir.cleanup()

    def path(self, name):
        return os.path.join(self.dir.name, name)

    def test_closing_and_reopening_mid_interview_loses_nothing(self):
        path = self.path("phone.db")
        s = phone(path, "int1")
        case = s.cases()[0].id
        s.start_interview(case, "zh")
        s.go_to(case, "consent", [])
        s.answer(case, A.CHOICE(name="yes"))
        s.next(case)
        s.answer(case, A.INTEGER(value=2))
        s.next(case)
        member = s.add_member(case, "members", [])
        s.answer(case, A.TEXT(value="王芳"))
        device, pending = s.device_id(), s.status().pending_ops
        del s
        gc.collect()

        s = mb.FieldStore.open(path)
        self.assertEqual(s.device_id(), device)
        self.assertEqual(s.status().pending_ops, pending)
        q = s.current(case).question
        self.assertEqual((q.name, q.instances, q.value), ("member_name", [member], '"王芳"'))
        self.assertEqual(q.label, "成员姓名")
        answers = json.loads(s.answers_json(case))
        self.assertEqual(answers["hh_size"], 2)
        self.assertEqual(answers["members"], [{"_id": member, "member_name": "王芳"}])
        self.assertTrue(s.sync().synced)
        self.assertEqual(s.status().pending_ops, 0)

    def test_errors_are_a_small_enum_an_app_can_act_on(self):
        fresh = mb.FieldStore.open(self.path("fresh.db"))
        with self.assertRaises(mb.FieldError.Auth):
            fresh.cases()
        with self.assertRaises(mb.FieldError.Auth):
            fresh.sign_in(URL, PROJECT, "int1", "wrong password")
        s = phone(self.path("phone.db"), "int1")
        case = s.cases()[0].id
        s.start_interview(case, "en")
        s.go_to(case, "consent", [])
        s.answer(case, A.CHOICE(name="yes"))
        s.next(case)
        cases = [
            (A.INTEGER(value=99), "constraint", "Must be between 1 and 30"),
            (A.TEXT(value="several"), "type", None),
        ]
        for value, code, message in cases:
            with self.assertRaises(mb.FieldError.Validation) as e:
                s.answer(case, value)
            self.assertEqual(e.exception.code, code)
            self.assertEqual(e.exception.field, "main/hh_size")
            if message:
                self.assertEqual(e.exception.message, message)
        with self.assertRaises(mb.FieldError.NotFound):
            s.case("00000000-0000-0000-0000-000000000000")
        with self.assertRaises(mb.FieldError.Validation):
            s.record_visit(case, mb.VisitInput(result="not a code"))

    def test_sans_io_sync_through_the_apps_own_http(self):
        s = mb.FieldStore.open(self.path("phone.db"))
        s.sign_in(URL, PROJECT, "int1", PASSWORD)
        status, body = http("POST", "/api/v1/sessions",
                            json.dumps({"username": "int1", "password": PASSWORD}).encode())
        self.assertEqual(status, 201)
        token = json.loads(body)["token"]
        base = "/api/v1/projects/%s/sync/" % PROJECT
        cbor = "application/vnd.mapframe.sync+cbor"

        def pull_all():
            for _ in range(100):
                status, body = http("POST", base + "pull", s.prepare_pull(mb.WireFormat.BINARY), cbor, token)
                self.assertEqual(status, 200)
                if s.apply_pull(body).complete:
                    return
            self.fail("pull never completed")

        pull_all()
        case = s.cases()[0].id
        s.set_disposition(case, "2.11")
        message = s.prepare_push(mb.WireFormat.JSON)
        self.assertIsNotNone(message)
        status, body = http("POST", base + "push", message, "application/json", token)
        self.assertEqual(status, 200)
        out = s.apply_ack(body)
        self.assertEqual((out.accepted, out.unacknowledged), (1, 0))
        self.assertIsNone(s.prepare_push(mb.WireFormat.JSON))
        pull_all()
        self.assertTrue(s.status().synced)
        self.assertEqual(s.case(case).disposition, "2.11")


if __name__ == "__main__":
    unittest.main()
