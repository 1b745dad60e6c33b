// Marketplace forms: listings are created, edited and ordered through the REST API.

import { api, errorText } from "./api.js";
import { formatMoneyNodes, parseAmount, showError } from "./dom.js";

formatMoneyNodes();

// Typed prices in the user's locale ("20,00" or "20.00") as the API's "20.00".
function amountOrRaw(value) {
  const parsed = parseAmount(value);
  return parsed === null ? String(value).trim() : parsed;
}

for (const form of document.querySelectorAll("form.item-form")) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = form.querySelector(".error");
    showError(error, "");
    const data = Object.fromEntries(new FormData(form).entries());
    // The listing's terms are numbers; no revisions number means unlimited (null).
    if ("delivery_days" in data) data.delivery_days = Number(data.delivery_days);
    if ("revisions_included" in data) {
      data.revisions_included = data.revisions_included === "" ? null : Number(data.revisions_included);
    }
    if ("base_price" in data) data.base_price = amountOrRaw(data.base_price);
    const result = await api(form.dataset.method, form.dataset.url, data);
    if (result.ok) window.location.reload();
    else showError(error, errorText(result));
  });
}

for (const button of document.querySelectorAll("button.remove-item")) {
  button.addEventListener("click", async () => {
    if (!window.confirm("Remove this listing? Orders already placed keep it.")) return;
    const result = await api("DELETE", button.dataset.url);
    if (result.ok) window.location.reload();
    else showError(button.closest("form").querySelector(".error"), errorText(result));
  });
}

for (const form of document.querySelectorAll("form.order-form")) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = form.querySelector(".error");
    showError(error, "");
    const price = form.elements.final_price.value.trim();
    const body = { item_id: Number(form.dataset.itemId) };
    if (price) body.final_price = amountOrRaw(price);
    form.querySelector("button").disabled = true;
    const result = await api("POST", "/api/orders", body);
    if (result.ok) {
      window.location.assign(`/orders/${result.data.id}/`);
    } else {
      showError(error, errorText(result));
      form.querySelector("button").disabled = false;
    }
  });
}
