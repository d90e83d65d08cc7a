"""Dashboard pages: what each shows, filters and paging, masking, escaping, the refresh fragment."""

from __future__ import annotations

import re
from datetime import timedelta

from core.models import Event, SyncCursor, SyncRun, WebhookEvent, WorkflowRunRecord, WorkflowStepRecord
from core.webhooks import count_rejection
from core.workflows.leases import utcnow
from tests.dashboard.conftest import Dashboard


async def _failed_order_run() -> WorkflowRunRecord:
    started = utcnow() - timedelta(minutes=5)
    run = await WorkflowRunRecord.create(
        id="sync-order-to-erp:order_7", workflow_name="sync-order-to-erp", state="failed", attempts=2,
        input={"order_id": "order_7", "erp_password": "hunter2-secret", "note": "x" * 5000},
        error="ErpUnavailable: <script>alert(1)</script> odoo is down",
        error_traceback="Traceback (most recent call last):\n  File \"order_export.py\", line 3\nErpUnavailable: down",
        created_at=started, finished_at=started + timedelta(seconds=4),
    )
    steps = [
        (1, "read-order", "invoke", None, "reverted", 1, {"order_id": "order_7", "token": "tok_abc"}, None, 0.2),
        (2, "create-erp-order", "invoke", None, "failed", 4, None, "ErpUnavailable: odoo is down", 3.0),
        (3, "read-order", "compensate", 1, "reverted", 1, None, None, 0.1),
    ]
    for seq, name, kind, compensates, state, attempts, output, error, seconds in steps:
        begin = started + timedelta(seconds=seq * 0.5)
        await WorkflowStepRecord.create(
            run=run, seq=seq, name=name, kind=kind, compensates_seq=compensates, state=state, attempts=attempts,
            output=output, error=error, error_traceback="Traceback: step" if error else None,
            started_at=begin, finished_at=begin + timedelta(seconds=seconds),
        )
    return run


async def test_overview_shows_states_failures_queue_and_jobs(logged_in: Dashboard) -> None:
    await _failed_order_run()
    await WorkflowRunRecord.create(id="event:evt_1:erp", workflow_name="deliver-event", state="done",
                                   finished_at=utcnow())
    status, html = await logged_in.page("/dashboard")
    assert status == 200
    assert "in-process runner (embedded)" in html
    assert re.search(r'<span class="figure">1</span><span class="label">failed or reverted, last 24 h', html)
    assert "sync-order-to-erp:order_7" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert" not in html
    assert "workflow-recovery: alive" in html
    assert "No plugin declares a scheduled job." in html


async def test_runs_list_filters_by_workflow_state_and_prefix(logged_in: Dashboard) -> None:
    await _failed_order_run()
    await WorkflowRunRecord.create(id="event:evt_1:erp", workflow_name="deliver-event", state="done")
    await WorkflowRunRecord.create(id="event:evt_2:erp", workflow_name="deliver-event", state="pending")
    _, everything = await logged_in.page("/dashboard/runs")
    assert all(run in everything for run in ("order_7", "evt_1", "evt_2"))
    _, failed = await logged_in.page("/dashboard/runs?state=failed")
    assert "order_7" in failed and "evt_1" not in failed
    _, events = await logged_in.page("/dashboard/runs?workflow=deliver-event&state=&id_prefix=event%3Aevt_2")
    assert "evt_2" in events and "evt_1" not in events and "order_7" not in events


async def test_runs_list_filters_by_creation_time(logged_in: Dashboard) -> None:
    now = utcnow()
    await WorkflowRunRecord.create(id="old-run", workflow_name="w", state="done", created_at=now - timedelta(days=3))
    await WorkflowRunRecord.create(id="new-run", workflow_name="w", state="done", created_at=now)
    since = (now - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    _, html = await logged_in.page(f"/dashboard/runs?since={since}")
    assert "new-run" in html and "old-run" not in html
    _, html = await logged_in.page(f"/dashboard/runs?until={since}")
    assert "old-run" in html and "new-run" not in html


async def test_runs_list_pages_through_every_run_once(logged_in: Dashboard) -> None:
    base = utcnow()
    for n in range(120):  # some share a timestamp: the id breaks the tie
        await WorkflowRunRecord.create(id=f"run-{n:03d}", workflow_name="w", state="done",
                                       created_at=base - timedelta(seconds=n // 3))
    seen: list[str] = []
    url: str | None = "/dashboard/runs"
    while url:
        _, html = await logged_in.page(url)
        seen += re.findall(r">(run-\d{3})</a>", html)
        found = re.search(r'<a href="([^"]+)" rel="next">', html)
        url = found.group(1).replace("&amp;", "&") if found else None
    assert sorted(seen) == [f"run-{n:03d}" for n in range(120)]
    assert len(seen) == len(set(seen))


async def test_runs_list_refuses_bad_filters_with_400(logged_in: Dashboard) -> None:
    for query in ("state=exploded", "since=yesterday", "before=garbage"):
        status, html = await logged_in.page(f"/dashboard/runs?{query}")
        assert status == 400, query
        assert "Invalid filter" in html


async def test_run_detail_shows_steps_compensations_errors_masked_and_truncated(logged_in: Dashboard) -> None:
    await _failed_order_run()
    status, html = await logged_in.page("/dashboard/runs/sync-order-to-erp:order_7")
    assert status == 200
    assert "create-erp-order" in html and "read-order" in html
    assert "<h2>Compensations</h2>" in html
    assert "Traceback (most recent call last)" in html
    assert "hunter2-secret" not in html and "tok_abc" not in html
    assert "••••••" in html
    assert "more characters)" in html
    assert "&lt;script&gt;" in html and "<script>alert" not in html
    assert 'action="/dashboard/runs/sync-order-to-erp%3Aorder_7/retry"' in html
    assert re.search(r'class="bar bad" style="margin-left: [\d.]+%; width: [\d.]+%"', html)


async def test_unknown_run_is_a_404_page(logged_in: Dashboard) -> None:
    status, html = await logged_in.page("/dashboard/runs/nope")
    assert status == 404
    assert "Workflow run with id: nope was not found" in html


async def test_refresh_fragment_is_only_the_live_block(logged_in: Dashboard) -> None:
    await _failed_order_run()
    status, html = await logged_in.page("/dashboard/runs", headers={"X-Dashboard-Partial": "1"})
    assert status == 200
    assert "order_7" in html
    assert "<html" not in html and "<nav>" not in html


async def test_syncs_page_shows_counts_duration_and_cursors(logged_in: Dashboard) -> None:
    started = utcnow() - timedelta(minutes=2)
    await WorkflowRunRecord.create(id="sync:products:s1", workflow_name="sync-products-from-erp", state="done")
    await SyncRun.create(
        name="products", run_id="sync:products:s1", trigger="schedule", full=True, state="succeeded", pages=4,
        seen=812, created=800, updated=10, unchanged=2, archived=3, cursors_before={"products:products": None},
        cursors_after={"products:products": "2026-11-28 20:00:00|42"}, started_at=started,
        finished_at=started + timedelta(seconds=75),
    )
    await SyncCursor.create(name="products:products", value="2026-11-28 20:00:00|42", sync_run_id="sync_1")
    _, html = await logged_in.page("/dashboard/syncs")
    assert "succeeded" in html and ">812<" in html and ">800<" in html
    assert "1 min 15 s" in html
    assert "2026-11-28 20:00:00|42" in html
    assert 'href="/dashboard/runs/sync%3Aproducts%3As1"' in html


async def test_webhooks_page_shows_accepted_replayed_and_rejected(logged_in: Dashboard) -> None:
    await WorkflowRunRecord.create(id="sync-order-from-erp:ev1", workflow_name="sync-order-from-erp", state="done")
    await WebhookEvent.create(event_id="ev1", source="erp-dashboard-test", kind="order.updated", subject="SO042",
                              run_id="sync-order-from-erp:ev1", deliveries=3)
    count_rejection("erp-dashboard-test", "bad_signature")
    _, html = await logged_in.page("/dashboard/webhooks")
    assert "SO042" in html
    assert re.search(r'<span class="figure">1</span><span class="label">events delivered more than once', html)
    assert "bad_signature: " in html


async def test_events_page_shows_outbox_and_deliveries(logged_in: Dashboard) -> None:
    await Event.create(id="evt_waiting", name="order.placed", payload={"id": "order_1"})
    await Event.create(id="evt_sent", name="order.placed", payload={"id": "order_2"}, dispatched_at=utcnow())
    _, html = await logged_in.page("/dashboard/events")
    assert "evt_waiting" in html and "evt_sent" in html
    assert re.search(r'<span class="figure">1</span><span class="label">waiting for dispatch', html)


async def test_pages_forbid_framing_and_caching(logged_in: Dashboard) -> None:
    response = await logged_in.client.get("/dashboard")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


async def test_static_files_are_served(logged_in: Dashboard) -> None:
    for path in ("/dashboard/static/dashboard.css", "/dashboard/static/dashboard.js"):
        response = await logged_in.client.get(path)
        assert response.status == 200, path


async def test_overview_charts_runs_finished_per_hour(logged_in: Dashboard) -> None:
    now = utcnow()
    for n, state in enumerate(("done", "done", "failed", "reverted")):
        await WorkflowRunRecord.create(id=f"hourly-{n}", workflow_name="w", state=state,
                                       created_at=now - timedelta(seconds=4), finished_at=now - timedelta(seconds=2))
    await WorkflowRunRecord.create(id="last-week", workflow_name="w", state="done",
                                   created_at=now - timedelta(days=7), finished_at=now - timedelta(days=7))
    _, html = await logged_in.page("/dashboard")
    hour = (now - timedelta(seconds=2)).strftime("%H:00")
    assert re.search(rf'title="{hour}: 2 done, 2 failed or reverted, mean 2\.\d\d s"', html)
    assert 'style="height: 100.0%"><div class="failed" style="height: 50.0%"' in html
