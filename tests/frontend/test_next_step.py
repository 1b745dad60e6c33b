"""The order head, for buyer and creator side by side (and an admin): the status tracker, one
sentence saying whose turn it is, one primary action (the rest secondary), and confirmations in a
modal <dialog> that keeps focus inside and gives it back."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .a11y import assert_accessible
from .conftest import screenshot, wait_live

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def primary(page):
    return page.locator("#actions .primary")


def secondary(page):
    return page.locator("#actions .secondary")


def step_states(page) -> dict[str, str]:
    return page.locator("#tracker li").evaluate_all(
        "items => Object.fromEntries(items.map(li => [li.dataset.step, li.dataset.state]))"
    )


def focus_in_dialog(page) -> bool:
    return page.evaluate(
        "() => document.getElementById('confirm-dialog').contains(document.activeElement)"
    )


def test_each_role_sees_whose_turn_it_is_and_one_primary_action_through_the_whole_order(
    browsing, buyer, creator, admin_user, password, order
):
    buyer_page = browsing.signed_in("buyer", password)
    creator_page = browsing.signed_in("creator", password)
    admin_page = browsing.signed_in("admin", password)
    for page in (buyer_page, creator_page, admin_page):
        page.goto(f"/orders/{order.pk}/")
        wait_live(page)

    # Unpaid: the buyer's one thing to do is to pay, here in the head, not in another card.
    expect(buyer_page.locator("#next-step")).to_contain_text("Your turn: pay €450.00")
    expect(primary(buyer_page)).to_have_text("Simulated payment: pay €450.00")
    expect(secondary(buyer_page)).to_have_text(["Cancel order"])
    expect(creator_page.locator("#next-step")).to_contain_text("Waiting for buyer to pay €450.00")
    expect(primary(creator_page)).to_have_count(0)
    expect(admin_page.locator("#next-step")).to_contain_text("Waiting for buyer to pay")
    assert step_states(buyer_page) == {
        "placed": "done",
        "paid": "current",
        "accepted": "todo",
        "delivered": "todo",
        "completed": "todo",
    }
    expect(buyer_page.locator('#tracker li[aria-current="step"]')).to_contain_text("Paid")
    # The primary action looks like one: filled; the secondary ones are outlined.
    assert primary(buyer_page).evaluate("b => getComputedStyle(b).backgroundColor") == (
        "rgb(31, 95, 191)"
    )
    assert secondary(buyer_page).evaluate("b => getComputedStyle(b).backgroundColor") == (
        "rgb(255, 255, 255)"
    )
    assert_accessible(buyer_page, "order, buyer, unpaid")
    assert_accessible(creator_page, "order, creator, unpaid")

    primary(buyer_page).click()
    expect(buyer_page.get_by_test_id("paid")).to_contain_text("Paid: €450.00")
    expect(creator_page.locator("#next-step")).to_contain_text("Your turn: buyer has paid")
    expect(primary(creator_page)).to_have_text("Accept order at €450.00")
    expect(secondary(creator_page)).to_have_text(["Cancel order"])
    expect(buyer_page.locator("#next-step")).to_contain_text("Waiting for creator to accept")
    expect(primary(buyer_page)).to_have_count(0)
    assert step_states(creator_page)["paid"] == "done"

    primary(creator_page).click()
    expect(creator_page.locator("#next-step")).to_contain_text("Your turn: deliver the work")
    expect(primary(creator_page)).to_have_text("Deliver")
    expect(buyer_page.locator("#next-step")).to_contain_text("creator is working on it")
    # The dispute form is not on screen: it sits behind a secondary "Report a problem".
    expect(buyer_page.locator("#dispute-form")).to_have_count(0)
    expect(secondary(buyer_page)).to_have_text(["Report a problem"])
    assert step_states(buyer_page)["accepted"] == "done"

    primary(creator_page).click()
    expect(buyer_page.locator("#next-step")).to_contain_text("Your turn: check the delivery")
    expect(primary(buyer_page)).to_have_text("Accept delivery")
    expect(secondary(buyer_page)).to_have_text(["Ask for revision", "Report a problem"])
    expect(creator_page.locator("#next-step")).to_contain_text("Waiting for buyer to accept")
    assert_accessible(buyer_page, "order, buyer, delivered")

    # Accept delivery asks first, in a modal dialog: focus goes in, stays in, and comes back.
    accept = primary(buyer_page)
    accept.click()
    dialog = buyer_page.locator("#confirm-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator("#confirm-title")).to_have_text("Accept the delivery?")
    assert focus_in_dialog(buyer_page)
    for _ in range(5):
        buyer_page.keyboard.press("Tab")
        assert focus_in_dialog(buyer_page)
    assert_accessible(buyer_page, "confirmation dialog")
    buyer_page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(accept).to_be_focused()
    expect(buyer_page.locator("#status")).to_have_text("Delivered")  # nothing happened

    accept.click()
    buyer_page.get_by_role("button", name="Yes, accept the delivery").click()
    expect(creator_page.locator("#status")).to_have_text("Completed")
    expect(buyer_page.locator("#next-step")).to_contain_text("Your turn: tell others")
    expect(primary(buyer_page)).to_have_text("Write a review")
    assert set(step_states(buyer_page).values()) == {"done"}
    primary(buyer_page).click()
    expect(buyer_page.get_by_label("Score")).to_be_focused()
    screenshot(buyer_page, "order-head-completed-buyer")
    assert browsing.errors == []


def test_cancel_asks_in_a_dialog_and_the_tracker_shows_the_cancel_branch(
    browsing, buyer, creator, password, order
):
    buyer_page = browsing.signed_in("buyer", password)
    creator_page = browsing.signed_in("creator", password)
    for page in (buyer_page, creator_page):
        page.goto(f"/orders/{order.pk}/")
        wait_live(page)

    cancel = buyer_page.get_by_role("button", name="Cancel order")
    cancel.click()
    buyer_page.get_by_role("button", name="Go back").click()
    expect(cancel).to_be_focused()
    expect(creator_page.locator("#status")).to_have_text("Pending")

    cancel.click()
    expect(buyer_page.locator("#confirm-body")).to_contain_text("cannot be undone")
    buyer_page.get_by_role("button", name="Yes, cancel the order").click()
    for page in (buyer_page, creator_page):
        expect(page.locator("#status")).to_have_text("Cancelled")
        expect(page.locator('#tracker li[data-step="cancelled"]')).to_have_text("Cancelled")
        expect(page.locator('#tracker li[data-state="skipped"]')).to_have_count(4)
        expect(page.locator("#next-step")).to_contain_text("This order was cancelled")
        expect(page.locator("#actions button")).to_have_count(0)
        expect(page.locator("#thread-closed")).to_contain_text("cancelled")
    assert browsing.errors == []
