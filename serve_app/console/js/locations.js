// Location pickers: the first option (none, or all) stays, the choice survives a refresh.
import { element } from "./dom.js";

export function fillLocations(select, locations) {
  const chosen = select.value;
  select.replaceChildren(
    select.options[0],
    ...locations.map((location) =>
      element("option", { text: `${location.name} (${location.kind})`, attrs: { value: String(location.id) } }),
    ),
  );
  select.value = [...select.options].some((option) => option.value === chosen) ? chosen : "";
}
