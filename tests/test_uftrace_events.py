"""uftrace event comments inside the call tree: named by their text, LOST records counted."""
import tracefold

REPLAY = """\
# DURATION     TID     FUNCTION
            [  1234] | main() {
            [  1234] |   /* linux:sched-out */
            [  1234] |   /* LOST 12 records!! */
   1.000 us [  1234] |   foo();
            [  1234] |   /* LOST 3 records!! */
   3.000 us [  1234] | } /* main */
"""


def test_event_comments_and_lost_records(tmp_path):
    p = tmp_path / "replay.txt"
    p.write_text(REPLAY)
    info = tracefold.info(p)
    assert info["format"] == "uftrace" and info["unrecognized"] == 0
    assert info["lost_events"] == 15
    df = tracefold.read(p)
    com = df[df["kind"] == "instant"]
    assert com["name"].tolist() == ["linux:sched-out", "lost_events", "lost_events"]
    assert com["text"].tolist() == ["linux:sched-out", "LOST 12 records!!", "LOST 3 records!!"]
    calls = df[df["kind"] == "call"].set_index("name")
    assert calls.loc["main", "dur_ns"] == 3000 and calls.loc["foo", "dur_ns"] == 1000
