"""A day of field work through the generated Python bindings, against a server on loopback:
sign in, sync the assignment, list dwellings offline, interview two households (one with a
roster), submit, sync; a second phone edits the same household offline and, after syncing, both
phones and the server agree and both see the conflict; the server dies mid-sync and the phone
retries: nothing lost, nothing duplicated.

Against the contract server (MAPFRAME_CONTROL=1) the server's death is injected; against a real
`mapframe serve` (MAPFRAME_SERVER_PID, MAPFRAME_BIN, MAPFRAME_DB, MAPFRAME_PORT) the process is
killed and started again on the same port while the phone retries.
"""

import os
import signal
import subprocess
import tempfile
import threading
import time
import unittest

import mobile_bindings as mb
from common import A, CONTROL, fault, interview, phone


class FieldDay(unittest.TestCase):
    restarted = None

    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()

    def tearDown(self):
        if self.restarted is not None:
            self.restarted.kill()
            self.restarted.wait()
        self.dir.cleanup()

    def path(self, name):
        return os.path.join(self.dir.name, name)

    def kill_server_during(self, work):
        """Runs `work` (a sync) while the server dies and comes back; returns its result."""
        if CONTROL:
            fault("drop_after_push", 1)  # stores the push, dies before answering
            first = work()
            fault("down", 2)  # then refuses two connections
            return first, work
        os.kill(int(os.environ["MAPFRAME_SERVER_PID"]), signal.SIGKILL)
        result = {}
        t = threading.Thread(target=lambda: result.setdefault("r", work()))
        t.start()
        time.sleep(1.0)
        self.restarted = subprocess.Popen(
            [os.environ["MAPFRAME_BIN"], "serve", "--database-url", os.environ["MAPFRAME_DB"],
             "--bind", "127.0.0.1:" + os.environ["MAPFRAME_PORT"]],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        t.join(120)
        self.assertIn("r", result, "the sync did not come back")
        return result["r"], None

    def test_a_day_of_field_work(self):
        # Morning: sign in, sync the assignment.
        a = phone(self.path("a.db"), "int1")
        self.assertTrue(a.status().synced)
        cases = a.cases()
        self.assertGreaterEqual(len(cases), 2)
        areas = a.areas()
        self.assertGreaterEqual(len(areas), 1)

        # Offline: the listing of the area, its self-check, a vacant dwelling found.
        area = cases[0].area_id
        dwellings = a.dwellings(area, False)
        self.assertTrue(dwellings)
        for f in a.self_check(area):
            self.assertTrue(f.code and f.severity in ("error", "warning", "info"))
        vacant = next(d for d in dwellings if d.id not in {c.dwelling_id for c in cases})
        a.set_occupancy(vacant.id, mb.Occupancy.VACANT)

        # Two households: one with a roster of three, one living alone.
        c1, c2 = cases[0].id, cases[1].id
        interview(a, c1, [("张伟", "1", 45, "head"), ("李娜", "2", 43, "spouse"), ("张小明", "1", 12, "child")],
                  answers={"monthly_income": A.DECIMAL(value=6500.0)})
        interview(a, c2, [("王芳", "2", 67, "head")], language="en")
        report = a.sync()
        self.assertTrue(report.synced, report)
        self.assertEqual(report.refused, 0, a.refused())
        self.assertEqual(a.status().pending_ops, 0)
        self.assertEqual(a.dwelling(vacant.id).occupancy, mb.Occupancy.VACANT)

        # A second phone corrects the same household offline; so does the first.
        b = phone(self.path("b.db"), "int1")
        self.assertEqual(b.case(c1).status, "submitted")
        for s, income in ((a, 7000.0), (b, 7200.0)):
            s.go_to(c1, "monthly_income", [])
            s.answer(c1, A.DECIMAL(value=income))
        for s in (a, b, a):
            self.assertTrue(s.sync().synced)

        # Both phones and the server (a supervisor's fresh phone) agree, and all see the conflict.
        sup = phone(self.path("sup.db"), "sup")
        values = {s.field(c1, "answers/monthly_income") for s in (a, b, sup)}
        self.assertEqual(len(values), 1, values)
        for s in (a, b, sup):
            conflict = [k for k in s.conflicts() if k.key == "answers/monthly_income"]
            self.assertEqual(len(conflict), 1, s.conflicts())
            self.assertEqual(sorted(float(e.value) for e in conflict[0].entries), [7000.0, 7200.0])

        # Evening: two more visits, and the server dies mid-sync.
        for note in ("came back for the consent form", "left a card"):
            a.record_visit(c2, mb.VisitInput(result="1.1", note=note))
        first, again = self.kill_server_during(a.sync)
        self.assertTrue(first.synced, first)
        if again is not None:
            a.record_visit(c2, mb.VisitInput(result="1.1", note="one more"))
            self.assertTrue(again().synced)
        expected_visits = 3 if again is None else 4
        self.assertEqual(a.case(c2).visits, expected_visits)
        self.assertEqual(a.status().pending_ops, 0)
        self.assertTrue(sup.sync().synced)
        self.assertEqual(sup.case(c2).visits, expected_visits, "nothing lost, nothing counted twice")


if __name__ == "__main__":
    unittest.main()
