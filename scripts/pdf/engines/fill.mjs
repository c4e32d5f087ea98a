// node fill.mjs ENGINE TEMPLATE.pdf VALUES.json OUT.pdf [flatten]
//
// Fills a form with the values pdftk read from a filled copy, through the
// engine's own form filling, and saves it as that engine saves:
//   pdfjs   Firefox's viewer (pdf.js): its annotation storage, saveDocument()
//   pdfium  Chrome's and Edge's viewer (PDFium): focus a field, select all,
//           type; click boxes; pick list items; FPDF_SaveAsCopy (and
//           FPDFPage_Flatten for "flatten")
//   pdflib  pdf-lib, which web apps fill forms with: setText, check, select;
//           save() with object streams (and form.flatten() for "flatten")
import fs from "fs";

const [engine, tpl, vals, out, ...opts] = process.argv.slice(2);
const values = JSON.parse(fs.readFileSync(vals, "utf8"));
const flatten = opts.includes("flatten");
const ticked = (v) => v !== "" && v !== "Off";
const filled = new Set(); // the fields given a value

if (engine === "pdfjs") {
  const pdfjs = await import("pdfjs-dist/legacy/build/pdf.mjs");
  const doc = await pdfjs.getDocument({ data: new Uint8Array(fs.readFileSync(tpl)) }).promise;
  for (let i = 1; i <= doc.numPages; i++) {
    const page = await doc.getPage(i);
    for (const a of await page.getAnnotations()) {
      if (a.subtype !== "Widget" || !(a.fieldName in values)) continue;
      const v = values[a.fieldName].value;
      let sv;
      if (a.fieldType === "Tx") sv = { value: v };
      else if (a.fieldType === "Ch") sv = { value: a.multiSelect ? [v] : v };
      else if (a.checkBox) sv = { value: ticked(v) };
      else if (a.radioButton) sv = { value: v === a.buttonValue };
      else continue;
      doc.annotationStorage.setValue(a.id, sv);
      filled.add(a.fieldName);
    }
  }
  fs.writeFileSync(out, await doc.saveDocument());
} else if (engine === "pdflib") {
  const { PDFDocument, PDFTextField, PDFCheckBox, PDFRadioGroup, PDFDropdown, PDFOptionList } = await import("pdf-lib");
  const doc = await PDFDocument.load(fs.readFileSync(tpl));
  const form = doc.getForm();
  for (const f of form.getFields()) {
    if (!(f.getName() in values)) continue;
    const v = values[f.getName()].value;
    if (f instanceof PDFTextField) f.setText(v);
    else if (f instanceof PDFCheckBox) { if (ticked(v)) f.check(); }
    else if (f instanceof PDFRadioGroup) { if (ticked(v)) f.select(v); }
    else if (f instanceof PDFDropdown || f instanceof PDFOptionList) { if (v) f.select(v); }
    else continue;
    filled.add(f.getName());
  }
  if (flatten) form.flatten();
  fs.writeFileSync(out, await doc.save());
} else if (engine === "pdfium") {
  const { init } = await import("@embedpdf/pdfium");
  const P = await init({ wasmBinary: fs.readFileSync(new URL("node_modules/@embedpdf/pdfium/dist/pdfium.wasm", import.meta.url)) });
  const M = P.pdfium;
  const alloc = (n) => M.wasmExports.malloc(n);
  P.PDFiumExt_Init();
  const data = fs.readFileSync(tpl);
  const dp = alloc(data.length);
  M.HEAPU8.set(data, dp);
  const doc = P.FPDF_LoadMemDocument(dp, data.length, "");
  if (!doc) throw new Error("PDFium could not open " + tpl);
  const form = P.PDFiumExt_InitFormFillEnvironment(doc, P.PDFiumExt_OpenFormFillInfo());
  const buf = alloc(4096);
  const text = (fn) => (fn(buf, 4096) > 2 ? M.UTF16ToString(buf) : "");
  const wide = (s) => { const p = alloc((s.length + 1) * 2); M.stringToUTF16(s, p, (s.length + 1) * 2); return p; };
  const rect = alloc(16);
  const WIDGET = 20, CHECKBOX = 2, RADIO = 3, COMBO = 4, LIST = 5, TEXT = 6;
  for (let i = 0; i < P.FPDF_GetPageCount(doc); i++) {
    const page = P.FPDF_LoadPage(doc, i);
    P.FORM_OnAfterLoadPage(page, form);
    for (let j = 0; j < P.FPDFPage_GetAnnotCount(page); j++) {
      const a = P.FPDFPage_GetAnnot(page, j);
      const name = P.FPDFAnnot_GetSubtype(a) === WIDGET ? text((b, l) => P.FPDFAnnot_GetFormFieldName(form, a, b, l)) : "";
      if (name in values) {
        const v = values[name].value;
        const type = P.FPDFAnnot_GetFormFieldType(form, a);
        if (type === TEXT) {
          P.FORM_SetFocusedAnnot(form, a);
          P.FORM_SelectAllText(form, page);
          P.FORM_ReplaceSelection(form, page, wide(v));
          P.FORM_ForceToKillFocus(form);
          filled.add(name);
        } else if (type === CHECKBOX || type === RADIO) {
          const exp = text((b, l) => P.FPDFAnnot_GetFormFieldExportValue(form, a, b, l));
          const want = type === CHECKBOX ? ticked(v) : v === exp;
          if (want !== P.FPDFAnnot_IsChecked(form, a)) {
            // A click at the widget's centre, as a user's.
            P.FPDFAnnot_GetRect(a, rect);
            const [l, t, r, b] = [0, 4, 8, 12].map((o) => M.getValue(rect + o, "float"));
            P.FORM_OnLButtonDown(form, page, 0, (l + r) / 2, (t + b) / 2);
            P.FORM_OnLButtonUp(form, page, 0, (l + r) / 2, (t + b) / 2);
            P.FORM_ForceToKillFocus(form);
          }
          filled.add(name);
        } else if (type === COMBO || type === LIST) {
          for (let o = 0; o < P.FPDFAnnot_GetOptionCount(form, a); o++) {
            if (text((b, l) => P.FPDFAnnot_GetOptionLabel(form, a, o, b, l)) === v) {
              P.FORM_SetFocusedAnnot(form, a);
              P.FORM_SetIndexSelected(form, page, o, true);
              P.FORM_ForceToKillFocus(form);
              filled.add(name);
            }
          }
        }
      }
      P.FPDFPage_CloseAnnot(a);
    }
    if (flatten) P.FPDFPage_Flatten(page, 1 /* FLAT_PRINT */);
    P.FORM_OnBeforeClosePage(page, form);
    P.FPDF_ClosePage(page);
  }
  const w = P.PDFiumExt_OpenFileWriter();
  if (!P.PDFiumExt_SaveAsCopy(doc, w)) throw new Error("PDFium could not save");
  const size = P.PDFiumExt_GetFileWriterSize(w);
  const op = alloc(size);
  P.PDFiumExt_GetFileWriterData(w, op, size);
  fs.writeFileSync(out, Buffer.from(M.HEAPU8.subarray(op, op + size)));
} else {
  throw new Error("unknown engine " + engine);
}
// Every answer given must have reached its field.
const missed = Object.keys(values).filter((k) => ticked(values[k].value) && !filled.has(k));
if (missed.length > 0) throw new Error(`${engine}: ${missed.join(", ")} not filled in ${out}`);
