import os, sys, json, random, datetime, subprocess, tempfile, zlib, struct, shutil
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from email import policy
from xml.sax.saxutils import escape
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle

HERE = os.path.dirname(os.path.abspath(__file__))
T = os.environ.get('ORACLE_TEMPLATES', os.path.join(HERE, '..', 'pdf'))
OUT = os.environ.get('ORACLE_CASES', os.path.join(HERE, '..', '..', '.oracle', 'cases'))
TODAY = datetime.date(2026, 11, 25)
R = random.Random(20261125)

FIRST = [('Zoë', 'F'), ('Siobhán', 'F'), ('Oliver', 'M'), ('Amara', 'F'), ('Kai', 'M'), ('Freya', 'F'),
         ('Tomás', 'M'), ('Chloé', 'F'), ('Reuben', 'M'), ('Isla', 'F'), ('Mateo', 'M'), ('Noémie', 'F'),
         ('Callum', 'M'), ('Aisling', 'F'), ('Yusuf', 'M'), ('Ruby', 'F'), ('Jack Henry', 'M'),
         ('Mary Jane', 'F'), ('Lukas', 'M'), ('Seren', 'Non-binary'), ('Thanh', 'M'), ('Linh', 'F')]
SURN = ['Nguyễn', 'Okafor', 'Brennan', 'Kowalska', 'Hughes', 'Ó Briain', 'Patel', 'Müller', 'Adeyemi',
        'Whitfield', 'Fernández', 'Clarke', 'Ahmed', 'Lindqvist', 'Doherty', 'Tran', 'Bailey', 'Dubois']
KNOWN = {'Oliver': 'Ollie', 'Freya': 'Frey', 'Callum': 'Cal', 'Siobhán': 'Shiv', 'Tomás': 'Tom',
         'Jack Henry': 'Jack', 'Mary Jane': 'MJ', 'Reuben': 'Reub'}
STREETS = ['14 Hayes Lane', '7 Widmore Road', '220 Southborough Lane', '3 Crofton Road',
           'Flat 2, 51 Masons Hill', '88 Chislehurst Road']
POSTCODES = ['BR1 3JZ', 'BR2 9PE', 'BR6 8NS', 'BR7 5EP', 'SE20 7XB', 'BR3 1QN', 'br4 0ae', 'SE9  4HN'.replace('  ', ' ')]
MONTHN = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September',
          'October', 'November', 'December']
REFERRERS = [('Dr Priya Raman', 'Consultant Child and Adolescent Psychiatrist', 'Bromley CAMHS, Oxleas NHS Foundation Trust', 'priya.raman@nhs.net'),
             ('Gareth Owusu', 'Social Worker', 'London Borough of Bromley Children\'s Social Care', 'gareth.owusu@bromley.gov.uk'),
             ('Helen Fitzgerald', 'SENCo', 'Riverside School', 'h.fitzgerald@riverside.bromley.sch.uk'),
             ('Ngozi Eze', 'Learning Disability Nurse', 'Bromley Healthcare', 'ngozi.eze@nhs.net')]


def nhs_make(valid=True):
    while True:
        d = [9, 9, 9] + [R.randrange(10) for _ in range(6)]
        tot = sum(d[i] * (10 - i) for i in range(9))
        c = 11 - tot % 11
        if c == 11:
            c = 0
        if c == 10:
            continue
        if valid:
            return ''.join(map(str, d + [c]))
        return ''.join(map(str, d + [(c + R.randrange(1, 10)) % 10]))


def fmt_nhs(n, style=None):
    style = style or R.choice(['plain', 'space', 'space', 'dash'])
    if style == 'plain':
        return n
    sep = ' ' if style == 'space' else '-'
    return n[:3] + sep + n[3:6] + sep + n[6:]


def fmt_date(d, style='uk'):
    if style == 'uk':
        return d.strftime('%d/%m/%Y')
    if style == 'dmy':
        return '%d/%d/%d' % (d.day, d.month, d.year)
    if style == 'dash':
        return d.strftime('%d-%m-%Y')
    if style == 'long':
        return '%d %s %d' % (d.day, MONTHN[d.month - 1], d.year)
    if style == 'iso':
        return d.isoformat()


def years_before(d, years, extra_days):
    try:
        b = d.replace(year=d.year - years)
    except ValueError:
        b = d.replace(year=d.year - years, day=28)
    return b - datetime.timedelta(days=extra_days)


def base_case(age=None):
    first, g = R.choice(FIRST)
    sur = R.choice(SURN)
    ref_date = TODAY - datetime.timedelta(days=R.randrange(0, 20))
    signed = ref_date - datetime.timedelta(days=R.randrange(0, 10))
    age = age if age is not None else R.randrange(6, 16)
    dob = years_before(signed, age, R.randrange(20, 300))
    if dob.month == 2 and dob.day == 29:
        dob = dob - datetime.timedelta(days=1)
    nhs = nhs_make()
    nf = R.choice(['plain', 'space', 'space', 'dash'])
    gender = {'F': 'Female', 'M': 'Male'}.get(g, g)
    par = R.choice(['Mother', 'Father', 'Grandmother', 'Adoptive mother'])
    pname = R.choice(['Claire', 'Dariusz', 'Fiona', 'Emeka', 'Aoife', 'Hoa']) + ' ' + sur
    rf = R.choice(REFERRERS)
    ld, au = R.choice([('Yes', 'Yes'), ('Yes', 'No'), ('No', 'Yes')])
    ref = {
        'referral_date': fmt_date(ref_date), 'cyp_first_names': first, 'cyp_surname': sur,
        'cyp_known_as': '', 'cyp_dob': fmt_date(dob), 'cyp_nhs_number': fmt_nhs(nhs, nf),
        'cyp_gender': gender, 'cyp_ethnicity': R.choice(['White - British', 'White - Irish', 'Black or Black British - African',
                                                         'Asian or Asian British - Any other Asian background', 'Mixed - White and Black Caribbean', 'White - Any other White background']),
        'cyp_first_language': R.choice(['English', 'Vietnamese', 'Polish', 'Irish', 'Yoruba', '']),
        'cyp_address': R.choice(STREETS) + '\nBromley', 'cyp_postcode': R.choice(POSTCODES),
        'cyp_living_situation': R.choice(oracle.LIVING[:5]), 'cyp_local_authority': 'London Borough of Bromley',
        'cyp_gp_practice': R.choice(['Petts Wood Surgery', 'Shortlands Surgery', '']),
        'dx_learning_disability': ld, 'dx_autism': au,
        'dx_details': 'Diagnosed by Bromley CAMHS Neurodevelopmental Team, %d' % (dob.year + 4),
        'mh_concern': 'Escalating self-injury and distress; two A&E attendances this month.',
        'mh_high_risk_admission': 'Yes', 'placement_breakdown_risk': R.choice(['Yes', 'No', '']),
        'rag_rating': R.choice(['Red', 'Amber', 'Red', 'Green']), 'rag_reason': 'Crisis team involved; risk rising.',
        'inpatient_hospital': '', 'admission_date': '',
        'svc_health': 'Bromley CAMHS', 'svc_education': R.choice(['Riverside School', '']),
        'svc_social_care': R.choice(['Short breaks', '']), 'svc_other': '',
        'needs_health': 'Psychology input and PBS strategies.', 'needs_education': 'Additional adult support.',
        'needs_social_care': 'Review of care package.', 'plan_ehcp': R.choice(['Yes', '']), 'plan_pbs': '',
        'plan_crisis': R.choice(['Yes', '']), 'plan_cin_cp': '', 'plan_other': '',
        'parent_name': pname, 'parent_relationship': par, 'parent_has_pr': 'Yes',
        'parent_phone': '07700 900%03d' % R.randrange(1000), 'parent_email': '',
        'referrer_name': rf[0], 'referrer_role': rf[1], 'referrer_organisation': rf[2],
        'referrer_email': rf[3], 'referrer_phone': '020 7946 0%03d' % R.randrange(1000),
    }
    con = {
        'cyp_full_name': first + ' ' + sur, 'cyp_dob': ref['cyp_dob'],
        'cyp_nhs_number': R.choice([ref['cyp_nhs_number'], ref['cyp_nhs_number'], '']),
        'consent_basis': oracle.BASIS_PR, 'yp_has_capacity': '', 'consent_given': 'Yes',
        'factsheet_given': 'Yes', 'share_health': 'Yes', 'share_education': R.choice(['Yes', '']),
        'share_social_care': 'Yes', 'share_select': '', 'share_psg': '',
        'signatory_name': pname, 'signatory_relationship': par, 'signatory_has_pr': 'Yes',
        'signature': pname, 'signed_date': fmt_date(signed),
        'bid_decision_maker': '', 'bid_role': '', 'bid_date': '', 'bid_reason': '',
    }
    ctx = dict(ref_date=ref_date, signed=signed, dob=dob, nhs=nhs, first=first, sur=sur, rf=rf)
    return ref, con, ctx


def make_self(ref, con, ctx, cap='Yes'):
    con['consent_basis'] = oracle.BASIS_SELF
    con['yp_has_capacity'] = cap
    n = ctx['first'] + ' ' + ctx['sur']
    con['signatory_name'] = n
    con['signature'] = n
    con['signatory_relationship'] = 'Self'
    con['signatory_has_pr'] = ''


def set_dob(ref, con, ctx, dob):
    ctx['dob'] = dob
    ref['cyp_dob'] = fmt_date(dob)
    con['cyp_dob'] = fmt_date(dob)


def birthday(dob, years):
    return years_before(dob, -years, 0)


# ---------------------------------------------------------------- mutations
def m_happy(ref, con, ctx):
    return 'no mutation (valid child)'


def m_blank_ref(ref, con, ctx):
    f = R.choice([f for f in oracle.REF_REQUIRED if f not in ('cyp_dob', 'dx_learning_disability', 'dx_autism')])
    ref[f] = ''
    return 'referral required field %s blank' % f


def m_blank_dx(ref, con, ctx):
    f = R.choice(['dx_learning_disability', 'dx_autism'])
    ref[f] = ''
    other = 'dx_autism' if f == 'dx_learning_disability' else 'dx_learning_disability'
    ref[other] = 'Yes'
    return 'referral %s blank (other diagnosis Yes)' % f


def m_blank_optional(ref, con, ctx):
    for f in ('cyp_known_as', 'cyp_first_language', 'cyp_gp_practice', 'placement_breakdown_risk', 'svc_other',
              'plan_ehcp', 'plan_pbs', 'plan_crisis', 'plan_cin_cp', 'plan_other', 'parent_phone', 'parent_email'):
        ref[f] = ''
    con['cyp_nhs_number'] = ''
    for f in ('share_health', 'share_education', 'share_social_care', 'share_select', 'share_psg'):
        con[f] = ''
    return 'all optional fields blank (incl. consent NHS number and share_*)'


def m_blank_con(ref, con, ctx):
    f = R.choice(['cyp_full_name', 'cyp_dob', 'consent_given', 'factsheet_given', 'signatory_name',
                  'signatory_relationship', 'signature', 'signed_date', 'signatory_has_pr', 'consent_basis'])
    con[f] = ''
    return 'consent required field %s blank' % f


def m_bad_date(ref, con, ctx):
    f = R.choice(['referral_date', 'cyp_dob', 'signed_date'])
    v = R.choice(['31/02/2026', '13/13/2013', '2026-13-01', 'unknown', '11/31/2026', '00/05/2012', '12.05.2012'])
    if f == 'cyp_dob':
        ref[f] = v
        con[f] = v
    elif f == 'referral_date':
        ref[f] = v
    else:
        con[f] = v
    return 'malformed date %s = %r' % (f, v)


def m_future(ref, con, ctx):
    f = R.choice(['referral_date', 'signed_date', 'cyp_dob'])
    d = TODAY + datetime.timedelta(days=R.randrange(1, 40))
    if f == 'cyp_dob':
        d = TODAY + datetime.timedelta(days=R.randrange(30, 400))
        ref[f] = con[f] = fmt_date(d)
        con['consent_basis'] = oracle.BASIS_PR
    elif f == 'referral_date':
        ref[f] = fmt_date(d)
    else:
        con[f] = fmt_date(d)
    return 'future date %s = %s' % (f, d)


def m_altdates(ref, con, ctx):
    st = R.choice(['dmy', 'dash', 'long', 'iso'])
    for form, f in ((ref, 'referral_date'), (ref, 'cyp_dob'), (con, 'cyp_dob'), (con, 'signed_date')):
        d = oracle.parse_date(form[f])
        form[f] = fmt_date(d, R.choice([st, st, 'uk']) if f != 'referral_date' else st)
    return 'alternative date formats (%s)' % st


def m_mixed_dob_format(ref, con, ctx):
    st = R.choice(['dmy', 'dash', 'long', 'iso'])
    con['cyp_dob'] = fmt_date(ctx['dob'], st)
    return 'consent DOB written %s (same date as referral)' % st


def m_bad_nhs(ref, con, ctx):
    kind = R.choice(['check', 'check', 'short', 'long', 'letters'])
    if kind == 'check':
        v = fmt_nhs(nhs_make(valid=False))
    elif kind == 'short':
        v = ctx['nhs'][:9]
    elif kind == 'long':
        v = ctx['nhs'] + '1'
    else:
        v = ctx['nhs'][:4] + 'O' + ctx['nhs'][5:]
    ref['cyp_nhs_number'] = v
    con['cyp_nhs_number'] = R.choice([v, ''])
    return 'invalid NHS number (%s) %r' % (kind, v)


def m_nhs_format(ref, con, ctx):
    ref['cyp_nhs_number'] = fmt_nhs(ctx['nhs'], R.choice(['plain', 'space', 'dash']))
    con['cyp_nhs_number'] = fmt_nhs(ctx['nhs'], R.choice(['plain', 'space', 'dash']))
    return 'NHS number formatted differently on the two forms (%r / %r)' % (ref['cyp_nhs_number'], con['cyp_nhs_number'])


def m_postcode(ref, con, ctx):
    ref['cyp_postcode'] = R.choice(['BR5', '12345', 'BR1 3J', 'Bromley', 'BRR1 3JZ9'])
    return 'invalid postcode %r' % ref['cyp_postcode']


def m_email(ref, con, ctx):
    ref['referrer_email'] = R.choice(['priya.raman.nhs.net', 'priya@', 'priya raman@nhs.net', '@nhs.net', 'tel 020 7946 0381'])
    return 'invalid referrer email %r' % ref['referrer_email']


def m_gender(ref, con, ctx):
    ref['cyp_gender'] = R.choice(['Boy', 'F?', 'Unknown'])
    return 'gender not one of the choices %r' % ref['cyp_gender']


def _age_at(ctx, years, at, extra=None):
    """choose dob so that child is `years` old on date `at` (birthday some days before)."""
    return years_before(at, years, R.randrange(5, 200) if extra is None else extra)


def m_consent_age(ref, con, ctx):
    age = R.choice([15, 16, 17, 18, 14, 16, 17])
    basis = R.choice(['self', 'pr'])
    cap = R.choice(['Yes', 'No', 'Not assessed', ''])
    dob = _age_at(ctx, age, ctx['signed'])
    set_dob(ref, con, ctx, dob)
    if basis == 'self':
        make_self(ref, con, ctx, cap)
    else:
        con['yp_has_capacity'] = cap
    return 'age %d on both dates, basis %s, capacity %r' % (age, basis, cap)


def birthday_after_signing(con, ctx):
    """Signs the consent 4-19 days before the referral and returns a day
    after the signing, up to the referral date, for a birthday."""
    ref_date = ctx['ref_date']
    signed = ref_date - datetime.timedelta(days=R.randrange(4, 20))
    ctx['signed'] = signed
    con['signed_date'] = fmt_date(signed)
    return signed + datetime.timedelta(days=R.randrange(1, (ref_date - signed).days + 1))


def m_turn16(ref, con, ctx):
    # signed at 15, 16 by the referral date
    bday = birthday_after_signing(con, ctx)
    signed, ref_date = ctx['signed'], ctx['ref_date']
    dob = years_before(bday, 16, 0)
    set_dob(ref, con, ctx, dob)
    basis = R.choice(['self', 'pr'])
    cap = R.choice(['Yes', 'Yes', 'No', 'Not assessed'])
    if basis == 'self':
        make_self(ref, con, ctx, cap)
    else:
        con['yp_has_capacity'] = cap
    return 'turned 16 between signing (%s) and referral (%s); basis %s; capacity %s' % (signed, ref_date, basis, cap)


def m_birthday_edge(ref, con, ctx):
    which = R.choice(['16_on_signed', '18_on_referral', '18_tomorrow', '16_tomorrow_self'])
    if which == '16_on_signed':
        dob = years_before(ctx['signed'], 16, 0)
        set_dob(ref, con, ctx, dob)
        make_self(ref, con, ctx, 'Yes')
        return 'self-consent signed on 16th birthday'
    if which == '18_on_referral':
        dob = years_before(ctx['ref_date'], 18, 0)
        set_dob(ref, con, ctx, dob)
        make_self(ref, con, ctx, 'Yes')
        return '18th birthday on referral date (self-consent)'
    if which == '18_tomorrow':
        dob = years_before(ctx['ref_date'], 18, -1)
        set_dob(ref, con, ctx, dob)
        make_self(ref, con, ctx, 'Yes')
        return '18th birthday the day after referral (17, self-consent)'
    dob = years_before(ctx['signed'], 16, -1)
    if birthday(dob, 16) <= ctx['ref_date']:
        # ensure still 15 on the referral date too
        ctx['ref_date'] = ctx['signed']
        ref['referral_date'] = fmt_date(ctx['signed'])
    set_dob(ref, con, ctx, dob)
    make_self(ref, con, ctx, 'Yes')
    return 'self-consent the day before the 16th birthday'


def m_turn18(ref, con, ctx):
    bday = birthday_after_signing(con, ctx)
    set_dob(ref, con, ctx, years_before(bday, 18, 0))
    make_self(ref, con, ctx, 'Yes')
    return 'turned 18 between signing and referral (self-consent)'


def m_consent_no(ref, con, ctx):
    con['consent_given'] = 'No'
    return 'consent_given No (no best interest decision)'


def m_factsheet(ref, con, ctx):
    con['factsheet_given'] = 'No'
    return 'factsheet_given No'


def m_no_pr(ref, con, ctx):
    con['signatory_has_pr'] = 'No'
    con['signatory_relationship'] = R.choice(['Aunt', 'Foster carer', 'Stepfather'])
    return 'signatory without parental responsibility'


def m_mismatch(ref, con, ctx):
    k = R.choice(['name', 'surname', 'dob', 'nhs'])
    if k == 'name':
        con['cyp_full_name'] = R.choice(['Daniel', 'Sophie', 'Ella']) + ' ' + ctx['sur']
    elif k == 'surname':
        con['cyp_full_name'] = ctx['first'] + ' ' + R.choice(['Smith', 'Jones', 'Baker'])
    elif k == 'dob':
        con['cyp_dob'] = fmt_date(ctx['dob'] - datetime.timedelta(days=R.choice([1, 31, 365])))
    else:
        n = nhs_make()
        con['cyp_nhs_number'] = fmt_nhs(n)
    return 'consent names a different child (%s)' % k


def strip_acc(s):
    import unicodedata
    return ''.join(c for c in unicodedata.normalize('NFKD', s) if not unicodedata.combining(c))


def m_name_tolerant(ref, con, ctx):
    k = R.choice(['upper', 'lower', 'accents', 'spacing', 'knownas'])
    n = ctx['first'] + ' ' + ctx['sur']
    if k == 'upper':
        con['cyp_full_name'] = n.upper()
    elif k == 'lower':
        con['cyp_full_name'] = n.lower()
    elif k == 'accents':
        if strip_acc(n) == n:
            ctx['first'] = 'Zoë'
            ref['cyp_first_names'] = 'Zoë'
            n = 'Zoë ' + ctx['sur']
        con['cyp_full_name'] = strip_acc(n)
    elif k == 'spacing':
        con['cyp_full_name'] = '  ' + ctx['first'] + '   ' + ctx['sur'] + ' '
    else:
        if ctx['first'] not in KNOWN:
            ctx['first'] = 'Oliver'
            ref['cyp_first_names'] = 'Oliver'
        ref['cyp_known_as'] = KNOWN[ctx['first']]
        con['cyp_full_name'] = KNOWN[ctx['first']] + ' ' + ctx['sur']
    return 'consent name differs only by %s: %r vs %r %r' % (k, con['cyp_full_name'], ref['cyp_first_names'], ref['cyp_surname'])


def m_blue(ref, con, ctx):
    ref['rag_rating'] = 'Blue'
    ref['cyp_living_situation'] = 'Mental health hospital'
    k = R.choice(['complete', 'no_hospital', 'no_date', 'neither', 'complete'])
    ref['inpatient_hospital'] = '' if k in ('no_hospital', 'neither') else 'Bethlem Royal Hospital, Snowsill Ward'
    ref['admission_date'] = '' if k in ('no_date', 'neither') else fmt_date(ctx['ref_date'] - datetime.timedelta(days=R.randrange(3, 60)))
    return 'Blue rating, %s' % k


def m_not_eligible(ref, con, ctx):
    k = R.choice(['dx', 'risk', 'both'])
    if k in ('dx', 'both'):
        ref['dx_learning_disability'] = 'No'
        ref['dx_autism'] = 'No'
        ref['dx_details'] = R.choice(['', 'ADHD (2020)'])
    if k in ('risk', 'both'):
        ref['mh_high_risk_admission'] = 'No'
    return 'not eligible: %s' % k


def m_dx_details(ref, con, ctx):
    ref['dx_details'] = ''
    return 'diagnosis Yes but dx_details blank'


def m_svc(ref, con, ctx):
    ref['svc_health'] = ref['svc_education'] = ref['svc_social_care'] = ''
    ref['svc_other'] = R.choice(['', 'Youth offending team'])
    return 'no svc_health/svc_education/svc_social_care'


def m_one_svc(ref, con, ctx):
    ref['svc_health'] = ref['svc_education'] = ref['svc_social_care'] = ''
    ref[R.choice(['svc_health', 'svc_education', 'svc_social_care'])] = 'Involved weekly'
    return 'only one svc_ field filled'


def m_yn_alt(ref, con, ctx):
    st = R.choice([('Y', 'N'), ('true', 'false')])
    for form, fs in ((ref, ['dx_learning_disability', 'dx_autism', 'mh_high_risk_admission', 'parent_has_pr']),
                     (con, ['consent_given', 'factsheet_given', 'signatory_has_pr'])):
        for f in fs:
            if form[f] == 'Yes':
                form[f] = st[0]
            elif form[f] == 'No':
                form[f] = st[1]
    return 'Yes/No written as %s/%s' % st


def m_bid(ref, con, ctx):
    con['consent_basis'] = oracle.BASIS_BID
    con['consent_given'] = R.choice(['No', 'No', ''])
    for f in ('signatory_name', 'signatory_relationship', 'signatory_has_pr', 'signature', 'signed_date'):
        con[f] = ''
    con['bid_decision_maker'] = ctx['rf'][0]
    con['bid_role'] = ctx['rf'][1]
    con['bid_date'] = fmt_date(ctx['ref_date'] - datetime.timedelta(days=R.randrange(0, 5)))
    con['bid_reason'] = 'Parents decline consent; escalating self-injury and risk of admission.'
    k = R.choice(['complete', 'complete', 'no_maker', 'no_role', 'no_reason', 'no_date', 'future_date'])
    if k == 'no_maker':
        con['bid_decision_maker'] = ''
    elif k == 'no_role':
        con['bid_role'] = ''
    elif k == 'no_reason':
        con['bid_reason'] = ''
    elif k == 'no_date':
        con['bid_date'] = ''
    elif k == 'future_date':
        con['bid_date'] = fmt_date(TODAY + datetime.timedelta(days=R.randrange(1, 20)))
    return 'best interest decision, %s (consent_given %r)' % (k, con['consent_given'])


def m_signed_before_dob(ref, con, ctx):
    con['signed_date'] = fmt_date(ctx['dob'] - datetime.timedelta(days=R.randrange(10, 400)))
    return 'consent signed before the child was born'


def m_choice_basis(ref, con, ctx):
    con['consent_basis'] = R.choice(['Guardian', 'Social worker'])
    return 'consent_basis not one of the choices %r' % con['consent_basis']


MUTATIONS = [
    (m_happy, 10), (m_blank_ref, 22), (m_blank_dx, 4), (m_blank_optional, 5), (m_blank_con, 16), (m_bad_date, 12),
    (m_future, 10), (m_altdates, 12), (m_mixed_dob_format, 5), (m_bad_nhs, 12), (m_nhs_format, 6), (m_postcode, 6),
    (m_email, 6), (m_gender, 3), (m_consent_age, 26), (m_turn16, 12), (m_birthday_edge, 8), (m_turn18, 4),
    (m_consent_no, 7), (m_factsheet, 7), (m_no_pr, 7), (m_mismatch, 12), (m_name_tolerant, 14), (m_blue, 12),
    (m_not_eligible, 10), (m_dx_details, 4), (m_svc, 4), (m_one_svc, 3), (m_yn_alt, 8), (m_bid, 12),
    (m_signed_before_dob, 3), (m_choice_basis, 2),
]
# pairs of mutations that combine unambiguously as a second mutation
SECOND = [m_postcode, m_email, m_altdates, m_nhs_format, m_factsheet, m_consent_no, m_not_eligible, m_blue,
          m_blank_ref, m_name_tolerant, m_mismatch, m_svc]


# ---------------------------------------------------------------- PDFs and email
def xfdf(vals, path):
    with open(path, 'w', encoding='utf-8') as f:
        f.write('<?xml version="1.0" encoding="UTF-8"?>\n<xfdf xmlns="http://ns.adobe.com/xfdf/" xml:space="preserve"><fields>\n')
        for k, v in vals.items():
            if v == '':
                continue
            f.write('<field name="%s"><value>%s</value></field>\n' % (k, escape(v)))
        f.write('</fields></xfdf>\n')


def fill(template, vals, out, flatten, tmp):
    x = os.path.join(tmp, 'v.xfdf')
    xfdf(vals, x)
    cmd = ['pdftk', template, 'fill_form', x, 'output', out]
    if flatten:
        cmd.append('flatten')
    subprocess.run(cmd, check=True, capture_output=True)


def png_bytes(w=4, h=4):
    raw = b''.join(b'\x00' + bytes([R.randrange(256) for _ in range(w * 3)]) for _ in range(h))

    def chunk(t, d):
        return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d) & 0xffffffff)
    return b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 2, 0, 0, 0)) + \
        chunk(b'IDAT', zlib.compress(raw)) + chunk(b'IEND', b'')


def build_email(ctx, atts, style, idx):
    rf = ctx['rf']
    name = ctx['first'] + ' ' + ctx['sur']
    initials = ''.join(p[0] + '.' for p in name.split()[:1] + [ctx['sur']])
    msg = EmailMessage(policy=policy.SMTP)
    msg['From'] = '%s <%s>' % (rf[0], rf[3])
    msg['To'] = 'Bromley DSR <Bromley.DSR@selondonics.nhs.uk>'
    msg['Subject'] = R.choice(['DSR referral - %s', 'Referral to the DSR for %s', 'DSR referral and consent (%s)']) % initials
    msg['Date'] = formatdate(1795600000 + idx * 600, localtime=False)
    msg['Message-ID'] = '<case%03d.%d@oracle.test>' % (idx, R.randrange(10 ** 9))
    body = 'Dear DSR team,\n\nPlease find attached the referral and consent for %s.\n\nKind regards\n\n%s\n%s\n%s\n' % (initials, rf[0], rf[1], rf[2])
    msg.set_content(body)
    if style == 'related':
        html = '<html><body><p>Dear DSR team,</p><p>Referral attached for %s.</p><p>%s<br>%s</p><img src="cid:image001@oracle.test" alt="logo"></body></html>' % (initials, rf[0], rf[2])
        msg.add_alternative(html, subtype='html')
        htmlpart = msg.get_payload()[1]
        htmlpart.add_related(png_bytes(), 'image', 'png', cid='<image001@oracle.test>', filename='image001.png')
    for data, fn, mt in atts:
        maintype, subtype = mt.split('/')
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=fn)
    if style == 'forward':
        outer = EmailMessage(policy=policy.SMTP)
        outer['From'] = 'Sam Collins <sam.collins@bromley.gov.uk>'
        outer['To'] = 'Bromley DSR <Bromley.DSR@selondonics.nhs.uk>'
        outer['Subject'] = 'Fwd: ' + msg['Subject']
        outer['Date'] = formatdate(1795600000 + idx * 600 + 300, localtime=False)
        outer['Message-ID'] = '<fwd%03d.%d@oracle.test>' % (idx, R.randrange(10 ** 9))
        outer.set_content('Forwarding this referral which came to me by mistake.\n\nSam\n')
        outer.add_attachment(msg)
        msg = outer
    return msg.as_bytes()


def latin1_ok(vals):
    try:
        ''.join(vals.values()).encode('cp1252')
        return True
    except UnicodeEncodeError:
        return False


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    start = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    force_flat = os.environ.get('FORCE_FLATTEN') == '1'
    if start > 1:
        R.seed(start)
    os.makedirs(OUT, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix='oraclegen')
    pool = [m for m, w in MUTATIONS for _ in range(w)]
    if force_flat:
        pool = [m_blank_ref] * 6 + [m_blank_con] * 4 + [m_blue, m_bid, m_bid, m_dx_details, m_svc, m_blank_optional]
    for i in range(start, start + n):
        ref, con, ctx = base_case()
        m1 = pool[(i - start) % len(pool)] if (i - start) < len(pool) else R.choice(pool)
        descs = [m1(ref, con, ctx)]
        if R.random() < 0.25 and m1 not in (m_happy,) and not force_flat:
            m2 = R.choice(SECOND)
            if m2 is not m1:
                descs.append(m2(ref, con, ctx))
        # form presence
        have_ref, have_con = True, True
        r = R.random()
        if force_flat:
            pass
        elif r < 0.05:
            have_con = False
            descs.append('consent form not attached')
        elif r < 0.09:
            have_ref = False
            descs.append('referral form not attached')
        uses_alt_yn = any(v in ('Y', 'N', 'true', 'false') for v in list(ref.values()) + list(con.values()))
        flatten = (not uses_alt_yn) and (force_flat or R.random() < 0.2) and latin1_ok(ref) and latin1_ok(con)
        combined = have_ref and have_con and R.random() < 0.12 and \
            (oracle.parse_date(ref['cyp_dob'] or 'x') == oracle.parse_date(con['cyp_dob'] or 'y')) and \
            ref['cyp_dob'] == con['cyp_dob'] and ref['cyp_nhs_number'] == con['cyp_nhs_number']
        style = R.choice(['plain', 'plain', 'plain', 'forward', 'related'])
        if not (have_ref and have_con) and style == 'related':
            style = 'plain'
        name = ctx['first'] + ' ' + ctx['sur']
        safe = R.random() < 0.4
        fname = strip_acc(name) if safe else name
        atts = []
        rp = os.path.join(tmp, 'r.pdf')
        cp = os.path.join(tmp, 'c.pdf')
        fill(T + '/dsr-referral-form.pdf', ref, rp, flatten, tmp)
        fill(T + '/dsr-consent-form.pdf', con, cp, flatten, tmp)
        if combined:
            bp = os.path.join(tmp, 'b.pdf')
            subprocess.run(['pdftk', rp, cp, 'cat', 'output', bp], check=True, capture_output=True)
            atts.append((open(bp, 'rb').read(), 'DSR referral and consent - %s.pdf' % fname, 'application/pdf'))
            descs.append('both forms in one PDF')
        else:
            if have_ref:
                atts.append((open(rp, 'rb').read(), 'DSR Referral Form - %s.pdf' % fname, 'application/pdf'))
            if have_con:
                atts.append((open(cp, 'rb').read(), 'DSR Consent Form - %s.pdf' % fname, 'application/pdf'))
        if have_ref and have_con and R.random() < 0.08:
            atts.append((png_bytes(8, 8), 'photo of %s.png' % fname, 'image/png'))
            descs.append('extra photo attachment')
        R.shuffle(atts)
        if flatten:
            descs.append('flattened')
        descs.append('email style ' + style)
        if not safe and fname != strip_acc(fname):
            descs.append('non-ASCII file names')
        eml = build_email(ctx, atts, style, i)
        exp = oracle.evaluate(ref if have_ref else None, con if have_con else None, TODAY)
        base = os.path.join(OUT, '%03d' % i)
        open(base + '.eml', 'wb').write(eml)
        json.dump({'outcome': exp['outcome'], 'reasons': exp['must'], 'fields': exp['fields'],
                   'description': '; '.join(descs), 'referral': ref if have_ref else None,
                   'consent': con if have_con else None, 'flatten': flatten, 'combined': combined},
                  open(base + '.expected.json', 'w'), ensure_ascii=False, indent=1)
        print(i, exp['outcome'], exp['must'], '|', '; '.join(descs), flush=True)
    shutil.rmtree(tmp)


if __name__ == '__main__':
    main()
