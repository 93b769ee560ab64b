// The API key of this browser tab: in sessionStorage (gone with the tab), never in a URL.
const STORAGE_KEY = "medinv.apiKey";

export function currentKey() {
  return sessionStorage.getItem(STORAGE_KEY) ?? "";
}

export function saveKey(key) {
  if (key) {
    sessionStorage.setItem(STORAGE_KEY, key);
  } else {
    sessionStorage.removeItem(STORAGE_KEY);
  }
  window.dispatchEvent(new Event("medinv:keychange"));
}
