/* The index's filter box: typing a name, team, manager or department keeps the rows
   that match (accents and case aside) and hides the rest, with the teams and departments
   left empty. Reads the page's own text only; fetches nothing. Without scripts the box
   stays hidden and every row shows. */
(() => {
  const box = document.getElementById("kpinb-filter");
  const reports = document.getElementById("kpinb-reports");
  if (!box || !reports) return;
  const input = box.querySelector("input");
  const said = box.querySelector("output");
  const none = document.getElementById("kpinb-filter-none");
  const fold = (text) => text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
  const groups = [...reports.querySelectorAll("[data-group]")].map((group) => ({
    group,
    words: fold(group.dataset.group),
    rows: [...group.querySelectorAll("tbody tr")].map((row) => ({
      row,
      words: fold(row.querySelector("td.who") ? row.querySelector("td.who").textContent : ""),
    })),
  }));
  const apply = () => {
    const wanted = fold(input.value.trim());
    let shown = 0;
    for (const { group, words, rows } of groups) {
      const whole = !wanted || words.includes(wanted);
      let any = false;
      for (const { row, words: rowWords } of rows) {
        const keep = whole || rowWords.includes(wanted);
        row.hidden = !keep;
        any = any || keep;
        if (keep) shown += 1;
      }
      group.hidden = !any;
    }
    for (const section of reports.querySelectorAll("section.dept")) {
      section.hidden = !section.querySelector("[data-group]:not([hidden])");
    }
    said.textContent = wanted ? `${shown} shown` : "";
    none.hidden = !wanted || shown > 0;
  };
  input.addEventListener("input", apply);
  box.hidden = false;
  if (input.value) apply();
})();
