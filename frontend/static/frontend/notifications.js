// /settings/notifications: email toggles (PATCH /api/me/notifications) and browser push
// (a service worker at /sw.js, the standard Push API, POST/DELETE /api/me/push-subscriptions).
import { api, errorText } from "./api.js";

const form = document.getElementById("notify-prefs");
const saved = document.getElementById("notify-saved");
const pushState = document.getElementById("push-state");
const pushButton = document.getElementById("push-toggle");
const boot = JSON.parse(document.getElementById("boot").textContent);

if (boot.me.is_staff) {
  for (const el of form.querySelectorAll("[data-staff-only]")) el.hidden = false;
}

function say(text) {
  saved.textContent = text;
}

function fill(prefs) {
  form.elements.email_enabled.checked = prefs.email_enabled;
  form.elements.digest_delay_minutes.value = String(prefs.digest_delay_minutes);
  form.elements.desk_email.checked = prefs.desk_email;
}

async function save(changes) {
  const result = await api("PATCH", "/api/me/notifications", changes);
  if (!result.ok) {
    say(errorText(result));
    return null;
  }
  fill(result.data);
  say("Saved.");
  return result.data;
}

form.elements.email_enabled.addEventListener("change", (e) => save({ email_enabled: e.target.checked }));
form.elements.desk_email.addEventListener("change", (e) => save({ desk_email: e.target.checked }));
form.elements.digest_delay_minutes.addEventListener("change", (e) => {
  const minutes = Number.parseInt(e.target.value, 10);
  if (Number.isInteger(minutes)) save({ digest_delay_minutes: minutes });
});
form.addEventListener("submit", (e) => e.preventDefault());

// --- push -------------------------------------------------------------------------------------

function keyBytes(base64url) {
  const padded = (base64url + "===".slice((base64url.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
}

async function registration() {
  return navigator.serviceWorker.register("/sw.js", { scope: "/" });
}

async function currentSubscription() {
  const reg = await navigator.serviceWorker.getRegistration("/");
  return reg ? reg.pushManager.getSubscription() : null;
}

function showPush(on) {
  pushButton.dataset.on = on ? "1" : "";
  pushButton.textContent = on ? "Turn off push notifications" : "Turn on push notifications";
  pushState.textContent = on ? "Push notifications are on in this browser." : "Push notifications are off in this browser.";
  pushButton.disabled = false;
}

async function pushOn() {
  const key = await api("GET", "/api/me/push-key");
  if (!key.ok || !key.data.public_key) {
    pushState.textContent = "Push notifications are not available on this server.";
    return;
  }
  if ((await Notification.requestPermission()) !== "granted") {
    pushState.textContent = "The browser did not allow notifications.";
    return;
  }
  const reg = await registration();
  await navigator.serviceWorker.ready;
  const sub = await reg.pushManager.subscribe({
    userVisibleOnly: true,
    applicationServerKey: keyBytes(key.data.public_key),
  });
  const stored = await api("POST", "/api/me/push-subscriptions", sub.toJSON());
  if (!stored.ok) {
    pushState.textContent = errorText(stored);
    return;
  }
  await save({ push_enabled: true });
  showPush(true);
}

async function pushOff() {
  const sub = await currentSubscription();
  if (sub) {
    await api("DELETE", `/api/me/push-subscriptions?endpoint=${encodeURIComponent(sub.endpoint)}`);
    await sub.unsubscribe();
  }
  await save({ push_enabled: false });
  showPush(false);
}

pushButton.addEventListener("click", async () => {
  pushButton.disabled = true;
  try {
    await (pushButton.dataset.on ? pushOff() : pushOn());
  } catch (err) {
    pushState.textContent = `Push notifications could not be changed: ${err.message || err}`;
  } finally {
    pushButton.disabled = false;
  }
});

async function start() {
  const result = await api("GET", "/api/me/notifications");
  if (result.ok) fill(result.data);
  else say(errorText(result));
  if (!("serviceWorker" in navigator) || !("PushManager" in window)) {
    pushState.textContent = "This browser does not support push notifications.";
    return;
  }
  if (result.ok && !result.data.push_available) {
    pushState.textContent = "Push notifications are not available on this server.";
    return;
  }
  const sub = await currentSubscription();
  showPush(Boolean(sub) && result.ok && result.data.push_enabled);
}

start();
