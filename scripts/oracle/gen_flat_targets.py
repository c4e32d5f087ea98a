"""Targeted flattened cases: one blank field next to multi-line values (added after the bid_date finding)."""
import os, json, sys, tempfile
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen, oracle
targets = [('ref', 'dx_details'), ('ref', 'mh_concern'), ('ref', 'cyp_address'), ('ref', 'rag_reason'),
           ('ref', 'needs_health'), ('ref', 'needs_social_care'), ('ref', 'cyp_ethnicity'), ('ref', 'referrer_role'),
           ('con', 'bid_role'), ('con', 'bid_reason'), ('con', 'bid_decision_maker'), ('con', 'bid_date'),
           ('con', 'signature'), ('con', 'signed_date'), ('con', 'signatory_relationship'), ('ref', 'inpatient_hospital'),
           ('ref', 'admission_date'), ('ref', 'svc_health'), ('ref', 'mh_concern+dx_details'), ('con', 'bid_date+bid_role')]
i = 361
for form, f in targets:
    gen.R.seed(i)
    while True:
        ref, con, ctx = gen.base_case()
        if gen.latin1_ok(ref) and gen.latin1_ok(con):
            break
    ref['dx_learning_disability'] = 'Yes'
    if f.startswith('bid'):
        gen.R.choice  # keep
        con['consent_basis'] = oracle.BASIS_BID
        con['consent_given'] = 'No'
        for k in ('signatory_name', 'signatory_relationship', 'signatory_has_pr', 'signature', 'signed_date'):
            con[k] = ''
        con['bid_decision_maker'] = ctx['rf'][0]; con['bid_role'] = ctx['rf'][1]
        con['bid_date'] = gen.fmt_date(ctx['ref_date']); con['bid_reason'] = 'Parents decline consent; escalating self-injury and risk of admission.'
    if f in ('inpatient_hospital', 'admission_date'):
        ref['rag_rating'] = 'Blue'; ref['inpatient_hospital'] = 'Bethlem Royal Hospital'; ref['admission_date'] = gen.fmt_date(ctx['ref_date'])
    if f == 'svc_health':
        ref['svc_education'] = 'Riverside School'
    for k in f.split('+'):
        (ref if form == 'ref' else con)[k] = ''
    tmp = tempfile.mkdtemp(prefix='oracleflat')
    gen.fill(gen.T + '/dsr-referral-form.pdf', ref, tmp + '/r.pdf', True, tmp)
    gen.fill(gen.T + '/dsr-consent-form.pdf', con, tmp + '/c.pdf', True, tmp)
    name = ctx['first'] + ' ' + ctx['sur']
    atts = [(open(tmp + '/r.pdf', 'rb').read(), 'DSR Referral Form - %s.pdf' % name, 'application/pdf'),
            (open(tmp + '/c.pdf', 'rb').read(), 'DSR Consent Form - %s.pdf' % name, 'application/pdf')]
    eml = gen.build_email(ctx, atts, 'plain', i)
    exp = oracle.evaluate(ref, con)
    base = os.path.join(gen.OUT, '%03d' % i)
    open(base + '.eml', 'wb').write(eml)
    json.dump({'outcome': exp['outcome'], 'reasons': exp['must'], 'fields': exp['fields'],
               'description': 'flattened; %s form field(s) %s blank (targeted)' % (form, f), 'referral': ref,
               'consent': con, 'flatten': True, 'combined': False}, open(base + '.expected.json', 'w'), ensure_ascii=False, indent=1)
    print(i, exp['outcome'], exp['must'], f)
    i += 1
