// Sign out through the API: it ends the session and closes this user's live sockets at once.
// Without JavaScript the form posts to Django's logout view instead.

import { api } from "./api.js";

const form = document.getElementById("signout-form");
if (form) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    await api("POST", "/api/auth/logout");
    window.location.assign("/signin/");
  });
}
