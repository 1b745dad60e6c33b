"""Money panels per role, live in three browsers: the buyer's net paid and the creator's fee,
refund share, payout after an admin's partial refund typed with a decimal comma; the listed price
beside the agreed one, and the creator's Accept naming the price."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from tests.conftest import pay
from tests.factories import ItemFactory

from .a11y import assert_accessible
from .conftest import screenshot, wait_live

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def money(page, key: str):
    return page.locator(f'#money dd[data-money="{key}"]')


@pytest.fixture
def agreed_order(buyer, creator):
    """Listed at 450.00, agreed at 400.00, paid."""
    from orders import services

    item = ItemFactory(creator=creator, base_price=Decimal("450.00"))
    order = services.order_place(buyer=buyer, item=item, final_price=Decimal("400.00"))
    pay(order)
    return order


@pytest.fixture
def disputed_order(agreed_order, buyer, creator):
    from disputes import services as dispute_services
    from orders import services

    services.order_move(order=agreed_order, actor=creator, to_status="IN_PROGRESS")
    dispute = dispute_services.dispute_open(
        order=agreed_order, opened_by=buyer, reason="Half of the work is missing."
    )
    return agreed_order, dispute


def test_the_creator_sees_both_prices_the_fee_and_accepts_at_the_agreed_price(
    browsing, buyer, creator, password, agreed_order
):
    order = agreed_order
    creator_page = browsing.signed_in("creator", password)
    buyer_page = browsing.signed_in("buyer", password)
    for page in (creator_page, buyer_page):
        page.goto(f"/orders/{order.pk}/")
        wait_live(page)
        expect(page.locator("#price")).to_have_text("€400.00")
        expect(page.locator("#listed-price")).to_have_text("(listed at €450.00)")

    expect(creator_page.locator("#next-step")).to_contain_text(
        "at the agreed €400.00 (your listing says €450.00)"
    )
    accept = creator_page.locator("#actions .primary")
    expect(accept).to_have_text("Accept order at €400.00 (listed €450.00)")
    # Before any payout: the fee the platform will keep and what the creator will receive.
    expect(money(creator_page, "listed")).to_have_text("€450.00")
    expect(money(creator_page, "fee")).to_have_text("− €40.00")
    expect(money(creator_page, "receives")).to_have_text("€360.00")
    expect(money(creator_page, "payout")).to_contain_text("when the order completes")
    expect(money(buyer_page, "paid")).to_have_text("€400.00")
    expect(money(buyer_page, "net-paid")).to_have_text("€400.00")
    expect(money(buyer_page, "fee")).to_have_count(0)  # the buyer is not shown the creator's split
    assert_accessible(creator_page, "order, creator, agreed price")
    accept.click()
    expect(buyer_page.locator("#status")).to_have_text("In progress")
    assert browsing.errors == []


def test_partial_refund_with_a_decimal_comma_updates_every_money_panel(
    browsing, buyer, creator, admin_user, password, disputed_order
):
    order, dispute = disputed_order
    admin = browsing.signed_in("admin", password)
    buyer_page = browsing.signed_in("buyer", password)
    creator_page = browsing.signed_in("creator", password)
    for page in (buyer_page, creator_page):
        page.goto(f"/orders/{order.pk}/")
        wait_live(page)
    admin.goto(f"/disputes/{dispute.pk}/")
    wait_live(admin)

    # The admin sees the money the decision is about, and the cap, before typing anything.
    expect(admin.locator("#money-paid")).to_have_text("€400.00")
    expect(admin.locator("#money-refunded")).to_have_text("€0.00")
    expect(admin.locator("#money-max")).to_have_text("€399.99")
    admin.get_by_label("Outcome").select_option("PARTIAL_REFUND")
    expect(admin.locator("#close-refund-hint")).to_contain_text("to €399.99")
    assert_accessible(admin, "dispute room, admin close form")
    admin.get_by_label("Refund amount (EUR)").fill("400")
    admin.get_by_label("Resolution (shown to both parties)").fill("Half was delivered.")
    admin.get_by_role("button", name="Close dispute").click()
    error = admin.locator("#close-form .error")
    expect(error).to_contain_text("at most €399.99")
    expect(error).not_to_contain_text("REFUND_BUYER")  # no internal outcome codes
    expect(admin.locator("#confirm-dialog")).to_be_hidden()

    admin.get_by_label("Refund amount (EUR)").fill("100,50")  # the decimal comma is accepted
    admin.get_by_role("button", name="Close dispute").click()
    expect(admin.locator("#confirm-body")).to_contain_text("pay the creator the rest (€100.50)")
    admin.get_by_role("button", name="Yes, close the dispute").click()
    expect(admin.locator("#outcome")).to_have_text("Partial refund (€100.50)")

    # Both parties' pages follow live: refunded and net for the buyer; fee, share, payout.
    expect(money(buyer_page, "refunded")).to_have_text("€100.50")
    expect(money(buyer_page, "net-paid")).to_have_text("€299.50")
    expect(money(buyer_page, "paid")).to_have_text("€400.00")
    expect(money(creator_page, "fee")).to_have_text("− €40.00")
    expect(money(creator_page, "creator-refunds")).to_have_text("− €90.45")
    expect(money(creator_page, "receives")).to_have_text("€269.55")
    expect(money(creator_page, "payout")).not_to_contain_text("when the order completes")
    for page in (buyer_page, creator_page):
        expect(page.locator("#status")).to_have_text("Completed")
        # Completed by the dispute, never delivered: the tracker says so.
        tracker = page.locator("#tracker")
        expect(tracker.locator('[data-step="delivered"]')).to_have_attribute(
            "data-state", "skipped"
        )
        expect(tracker.locator('[data-step="dispute"]')).to_have_text("Dispute closed")
        # After a closed dispute there is no dispute form, nor a way to open it.
        expect(page.get_by_role("button", name="Report a problem")).to_have_count(0)
    screenshot(creator_page, "money-creator-partial-refund")
    screenshot(buyer_page, "money-buyer-partial-refund")
    assert_accessible(buyer_page, "order, buyer, partial refund")
    assert browsing.errors == []


def test_a_price_typed_with_a_decimal_comma_places_the_order(
    browsing, buyer, creator, password, item
):
    shopper = browsing.signed_in("buyer", password)
    shopper.goto("/")
    card = shopper.locator("li.item", has_text=item.title)
    card.get_by_label("Price (listed €450.00, or an agreed one)").fill("380,50")
    card.get_by_role("button", name="Order").click()
    shopper.wait_for_url("**/orders/*/")
    expect(shopper.locator("#price")).to_have_text("€380.50")
    expect(shopper.locator("#listed-price")).to_have_text("(listed at €450.00)")
    assert browsing.errors == []


def test_amounts_follow_the_browser_locale(browsing, buyer, creator, password, agreed_order):
    german = browsing.signed_in("creator", password, locale="de-DE")
    german.goto(f"/orders/{agreed_order.pk}/")
    wait_live(german)
    expect(german.locator("#price")).to_have_text("400,00\u00a0€")
    expect(money(german, "receives")).to_have_text("360,00\u00a0€")
    expect(german.locator("#actions .primary")).to_have_text(
        "Accept order at 400,00\u00a0€ (listed 450,00\u00a0€)"
    )
    assert browsing.errors == []
