// Card payments with Stripe's Payment Element. Stripe.js is loaded from js.stripe.com only when
// the server has Stripe keys (Stripe requires loading it from there); never with simulated payments.

import { api, errorText } from "./api.js";
import { el, showError } from "./dom.js";

let loading = null;

function loadStripeJs() {
  if (window.Stripe) return Promise.resolve(window.Stripe);
  if (!loading) {
    loading = new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = "https://js.stripe.com/v3/";
      script.onload = () => resolve(window.Stripe);
      script.onerror = () => reject(new Error("Stripe.js could not be loaded."));
      document.head.append(script);
    });
  }
  return loading;
}

export async function startStripePayment({ orderId, mount, error, onPaid }) {
  showError(error, "");
  const result = await api("POST", `/api/orders/${orderId}/payment`);
  if (!result.ok) {
    showError(error, errorText(result));
    return;
  }
  const { status, client_secret: clientSecret, publishable_key: key } = result.data;
  if (status === "SUCCEEDED") {
    onPaid();
    return;
  }
  let Stripe;
  try {
    Stripe = await loadStripeJs();
  } catch (err) {
    showError(error, err.message);
    return;
  }
  const stripe = Stripe(key);
  const elements = stripe.elements({ clientSecret });
  const paymentElement = elements.create("payment");
  mount.replaceChildren();
  const slot = el("div", { class: "stripe-slot" });
  const confirm = el("button", { type: "button", text: "Confirm payment" });
  const note = el("p", { class: "hint", role: "status" });
  mount.append(slot, confirm, note);
  paymentElement.mount(slot);
  confirm.addEventListener("click", async () => {
    confirm.disabled = true;
    showError(error, "");
    const outcome = await stripe.confirmPayment({
      elements,
      redirect: "if_required",
      confirmParams: { return_url: window.location.href },
    });
    if (outcome.error) {
      showError(error, outcome.error.message || "The payment failed.");
      confirm.disabled = false;
      return;
    }
    // The order counts as paid when Stripe's webhook arrives: payment.succeeded comes live.
    note.textContent = "Payment submitted. The order shows as paid as soon as Stripe confirms it.";
  });
}
