import json, glob, os, subprocess, sys, fnmatch, re
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle

HERE = os.path.dirname(os.path.abspath(__file__))
DSR = os.environ.get('DSR', os.path.join(HERE, '..', '..', 'bin', 'dsr'))
CASES = os.environ.get('ORACLE_CASES', os.path.join(HERE, '..', '..', '.oracle', 'cases'))
files = sorted(glob.glob(os.path.join(CASES, '*.eml')))
rerun = '--rerun' in sys.argv
outp = os.path.join(CASES, '..', 'dsr_out.jsonl')
if rerun or not os.path.exists(outp):
    with open(outp, 'w') as o:
        for i in range(0, len(files), 50):
            r = subprocess.run([DSR, 'check', '-json', '-fields', '-today', '2026-11-25'] + files[i:i + 50],
                               capture_output=True, text=True)
            o.write(r.stdout)
            if r.stderr.strip():
                sys.stderr.write(r.stderr[:2000])
res = {}
for line in open(outp):
    line = line.strip()
    if line:
        d = json.loads(line)
        res[os.path.basename(d['file'])] = d

YN = {'Yes': True, 'No': False, 'Y': True, 'N': False, 'true': True, 'false': False}
DATES = {'referral_date', 'cyp_dob', 'admission_date', 'signed_date', 'bid_date'}
BOOLS = {'dx_learning_disability', 'dx_autism', 'mh_high_risk_admission', 'placement_breakdown_risk',
         'plan_ehcp', 'plan_pbs', 'plan_crisis', 'plan_cin_cp', 'parent_has_pr', 'consent_given',
         'factsheet_given', 'share_health', 'share_education', 'share_social_care', 'share_select',
         'share_psg', 'signatory_has_pr'}


def expect_field(k, v):
    """normalised value we expect dsr to report, or None to skip."""
    if v is None or v.strip() == '':
        return None
    if k in DATES:
        d = oracle.parse_date(v)
        return d.isoformat() if d else None
    if k == 'cyp_nhs_number':
        return oracle.nhs_digits(v) if oracle.nhs_valid(v) else None
    if k in BOOLS:
        return YN.get(v.strip())
    return v


def norm_text(s):
    return ' '.join(str(s).split())


n_agree = 0
dis = []
field_dis = []
for f in files:
    b = os.path.basename(f)
    e = json.load(open(f[:-4] + '.expected.json'))
    ev = oracle.evaluate(e['referral'], e['consent'])  # re-run the (possibly fixed) oracle
    e['outcome'], e['reasons'], e['fields'] = ev['outcome'], ev['must'], ev['fields']
    json.dump(e, open(f[:-4] + '.expected.json', 'w'), ensure_ascii=False, indent=1)
    d = res.get(b)
    if d is None:
        dis.append((b, e, None, 'no output'))
        continue
    codes = [r['code'] for r in d.get('reasons', [])]
    missing = []
    for m in e['reasons']:
        if not any(fnmatch.fnmatch(c, alt) for alt in m.split('|') for c in codes):
            missing.append(m)
    ok = d['outcome'] == e['outcome'] and not missing
    if ok:
        n_agree += 1
    else:
        dis.append((b, e, d, missing))
    # fields
    for form in ('referral', 'consent'):
        vals = e.get(form)
        if not vals:
            continue
        got = d.get(form) or {}
        for k, v in vals.items():
            ev = expect_field(k, v)
            if ev is None:
                continue
            gv = got.get(k)
            if isinstance(ev, str):
                if gv is None or norm_text(gv) != norm_text(ev):
                    field_dis.append((b, form, k, ev, gv, e['flatten'], e['combined']))
            elif gv != ev:
                field_dis.append((b, form, k, ev, gv, e['flatten'], e['combined']))

print('cases', len(files), 'agree', n_agree, 'disagree', len(dis))
for b, e, d, missing in dis:
    print('---', b, e['description'])
    print('   oracle:', e['outcome'], e['reasons'])
    if d:
        print('   dsr   :', d['outcome'], [r['code'] for r in d['reasons']], 'missing', missing)
print('field disagreements', len(field_dis))
for x in field_dis:
    print('  F', x)
