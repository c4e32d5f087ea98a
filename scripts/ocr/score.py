"""Scores what OCR read of the typed fixture scans against every value
their forms were filled with (not only the identifying fields that
parser.TestOCRScans checks).

    go test -count=1 -run TestOCRScans -v ./parser > ocr.txt
    bin/dsr check --json testdata/samples/02-flattened-pdf-happy/message.eml > joshua.json
    python3 scripts/ocr/score.py ocr.txt joshua.json [-v]

Joshua's forms are sample 02's (their values as dsr reads the PDF's text);
the other children's are scripts/ocr/children.py's. Values are compared
normalised (letters and digits, lower case; dates as ISO; Yes/No as
true/false); -v lists each value read wrong.
"""
import json, os, re, sys, difflib
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import children
truth = {}
j = json.load(open(sys.argv[2]))
truth['joshua'] = {'referral': j['referral'], 'consent': j['consent']}
for c in ['amara', 'ethan', 'sofia']:
    truth[c] = {f: children.values(c, f) for f in ['referral', 'consent']}
case_child = {'scan-pdf': 'joshua', 'photo-jpeg': 'joshua', 'fax-tiff': 'joshua', 'upside-png': 'joshua',
              'amara-scan-signed': 'amara', 'ethan-fax-photo': 'ethan', 'sofia-scan-png': 'sofia'}
def norm(v):
    if v is True: return 'true'
    if v is False: return 'false'
    v = str(v)
    if v == 'Yes': return 'true'
    if v == 'No': return 'false'
    m = re.fullmatch(r'(\d\d)/(\d\d)/(\d{4})', v)
    if m: v = '%s-%s-%s' % (m.group(3), m.group(2), m.group(1))
    return re.sub(r'[^a-z0-9]', '', v.lower())
def parse(path):
    out = {}; case = None; form = None; cur = None
    for line in open(path):
        m = re.match(r'\s*=== RUN\s+TestOCRScans/(\S+)\.eml', line)
        if m: case = m.group(1); out[case] = {}; continue
        m = re.match(r'\s+ocr_test.go:\d+: (referral|consent):', line)
        if m and case: form = m.group(1); out[case][form] = {}; cur = None; continue
        m = re.match(r'\s{10}(\w+) = (.*)$', line)
        if m and case and form:
            cur = m.group(1); out[case][form][cur] = m.group(2); continue
        if cur and case and form and line.startswith('        ') and not line.strip().startswith(('---','ocr_test')):
            out[case][form][cur] += '\n' + line.rstrip('\n')[8:]
    for c in out:
        for f in out[c]:
            for k, v in out[c][f].items():
                out[c][f][k] = re.sub(r' \([01]\.\d\d\)$', '', v)
    return out
got = parse(sys.argv[1])
exact = total = 0; sim = 0.0
missing = {}
for case, child in case_child.items():
    for form in ['referral', 'consent']:
        t = truth[child][form]; g = got.get(case, {}).get(form, {})
        for k, v in t.items():
            total += 1
            gv = g.get(k)
            if gv is None:
                missing[k] = missing.get(k, 0) + 1
                continue
            a, b = norm(v), norm(gv)
            if a == b: exact += 1
            sim += difflib.SequenceMatcher(None, a, b).ratio()
print('fields %d, exact %d (%.1f%%), mean similarity %.3f' % (total, exact, 100*exact/total, sim/total))
print('missing:', sorted(missing.items(), key=lambda x: -x[1]))
if '-v' in sys.argv[3:]:
    for case, child in case_child.items():
        for form in ['referral', 'consent']:
            t = truth[child][form]; g = got.get(case, {}).get(form, {})
            for k, v in t.items():
                gv = g.get(k)
                if gv is not None and norm(v) != norm(gv):
                    print(case, form, k, repr(v)[:60], '->', repr(gv)[:60])
