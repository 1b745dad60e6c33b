// The money panel: what each role needs to know about the order's money, in the user's locale.
// Buyer: price, paid, refunded, net paid. Creator: price, platform fee, refunds (their part), what
// they receive and when, payout status. Integer cents throughout (no floating point on money).

import { cents, el, fmtMoney, fmtTime, fromCents } from "./dom.js";

const FUNDED = new Set(["SUCCEEDED", "PARTIALLY_REFUNDED", "REFUNDED"]);

// a * b / c rounded half-up, on non-negative integer cents (BigInt: exact at any size).
function mulDivHalfUp(a, b, c) {
  if (c === 0) return 0;
  const big = (2n * BigInt(a) * BigInt(b) + BigInt(c)) / (2n * BigInt(c));
  return Number(big);
}

// The figures of one order: decimal strings, as the API writes money.
export function moneyFigures({ order, payment, feePercent }) {
  const price = cents(order.final_price);
  const funded = Boolean(payment && FUNDED.has(payment.status));
  const paid = funded ? cents(payment.total_amount) : 0;
  const refunded = funded ? cents(payment.refunded_amount) : 0;
  const base = funded ? paid : price;
  // The fee stored when the payment succeeded, or what it will be (PLATFORM_FEE_PERCENT).
  const feeCents =
    payment && payment.platform_fee !== null && payment.platform_fee !== undefined
      ? cents(payment.platform_fee)
      : mulDivHalfUp(base, Math.round(Number(feePercent || 0) * 100), 10000);
  const share = base - feeCents;
  const creatorRefunds = funded ? mulDivHalfUp(refunded, share, base) : 0;
  return {
    price: fromCents(price),
    paid: fromCents(paid),
    refunded: fromCents(refunded),
    netPaid: fromCents(paid - refunded),
    fee: fromCents(feeCents),
    creatorRefunds: fromCents(creatorRefunds),
    receives: fromCents(order.status === "CANCELLED" && !funded ? 0 : share - creatorRefunds),
    funded,
  };
}

export function payoutWhen({ order, payment }) {
  const payout = payment && payment.payout;
  if (payout) {
    switch (payout.status) {
      case "PAID":
        return `Paid out${payout.paid_at ? ` ${fmtTime(payout.paid_at)}` : ""}.`;
      case "PENDING":
        return "Payout on its way to your account.";
      case "WAITING_FOR_ACCOUNT":
        return "Waiting for your payout account: connect it to be paid.";
      case "FAILED":
        return "The payout failed; it is retried automatically.";
      case "NOT_NEEDED":
        return "Nothing to pay out: the buyer was refunded.";
      default:
        return payout.status;
    }
  }
  if (order.status === "CANCELLED") return "Nothing: the order was cancelled.";
  if (order.status === "COMPLETED") return "Payout being prepared.";
  return "Paid out when the order completes (the buyer accepts the delivery).";
}

function row(label, value, key, { strong = false } = {}) {
  const dd = el("dd", { dataset: { money: key } });
  dd.append(strong ? el("strong", { text: value }) : value);
  return [el("dt", { text: label }), dd];
}

export function renderMoney({ box, order, payment, feePercent, role }) {
  const f = moneyFigures({ order, payment, feePercent });
  const rows = [];
  rows.push(...row("Agreed price", fmtMoney(f.price), "price"));
  if (order.listed_price !== order.final_price) {
    rows.push(...row("Listed price", fmtMoney(order.listed_price), "listed"));
  }
  if (role === "buyer" || role === "admin") {
    rows.push(...row("Paid", f.funded ? fmtMoney(f.paid) : "Nothing yet", "paid"));
    rows.push(...row("Refunded", fmtMoney(f.refunded), "refunded"));
    rows.push(...row("Net paid", fmtMoney(f.netPaid), "net-paid", { strong: role === "buyer" }));
  }
  if (role === "creator" || role === "admin") {
    rows.push(...row(`Platform fee (${Number(feePercent)}%)`, `− ${fmtMoney(f.fee)}`, "fee"));
    if (cents(f.refunded) > 0) {
      rows.push(...row("Refunds (the creator's part)", `− ${fmtMoney(f.creatorRefunds)}`, "creator-refunds"));
    }
    rows.push(
      ...row(role === "creator" ? "You receive" : "The creator receives", fmtMoney(f.receives), "receives", {
        strong: true,
      }),
    );
    rows.push(...row("Payout", payoutWhen({ order, payment }), "payout"));
  }
  box.replaceChildren(...rows);
  return f;
}
