"""Independent oracle for the DSR intake rules, written from FORMS.md only.

evaluate(ref, con, today) -> dict(outcome, must, fields)
  ref, con: dicts of canonical field name -> raw string as written on the form
            (missing key or '' = blank), or None when the form is absent.
  must: list of reason patterns that MUST be reported (fnmatch patterns; 'a|b' = any of).
"""
import re, datetime, unicodedata

MONTHS = {m: i + 1 for i, m in enumerate(
    ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august',
     'september', 'october', 'november', 'december'])}

REVIEW_CODES = {'age_18_or_over', 'not_eligible_diagnosis', 'not_eligible_risk',
                'best_interest_decision', 'unreadable_attachment', 'confirm_scanned_form',
                'query_not_delivered', 'sender_not_trusted', 'withdrawal_request'}
IGNORE_CODES = {'auto_reply', 'duplicate_message'}

BASIS_SELF = 'Young person (16 or over, with capacity)'
BASIS_PR = 'Person with parental responsibility'
BASIS_BID = 'Best interest decision'
GENDERS = ['Male', 'Female', 'Non-binary', 'Other', 'Prefer not to say']
LIVING = ['With family', 'Foster care', 'Kinship care', 'Residential placement',
          'Residential school', 'Mental health hospital', 'Other']
RAG = ['Blue', 'Red', 'Amber', 'Green']
CAPACITY = ['Yes', 'No', 'Not assessed']

REF_REQUIRED = ['referral_date', 'cyp_first_names', 'cyp_surname', 'cyp_dob', 'cyp_nhs_number',
                'cyp_gender', 'cyp_ethnicity', 'cyp_address', 'cyp_postcode',
                'cyp_living_situation', 'cyp_local_authority', 'dx_learning_disability',
                'dx_autism', 'mh_concern', 'mh_high_risk_admission', 'rag_rating', 'rag_reason',
                'needs_health', 'needs_education', 'needs_social_care', 'parent_name',
                'parent_relationship', 'parent_has_pr', 'referrer_name', 'referrer_role',
                'referrer_organisation', 'referrer_email', 'referrer_phone']


def blank(v):
    return v is None or str(v).strip() == '' or str(v).strip() == 'Off'


def parse_date(s):
    """Returns date, or None if not a recognised / valid date."""
    s = s.strip()
    m = re.fullmatch(r'(\d{1,2})[/-](\d{1,2})[/-](\d{4})', s)
    if m and (('/' in s) != ('-' in s)):
        d, mo, y = int(m[1]), int(m[2]), int(m[3])
    else:
        m = re.fullmatch(r'(\d{4})-(\d{2})-(\d{2})', s)
        if m:
            y, mo, d = int(m[1]), int(m[2]), int(m[3])
        else:
            m = re.fullmatch(r'(\d{1,2})\s+([A-Za-z]+)\s+(\d{4})', s)
            if not m or m[2].lower() not in MONTHS:
                return None
            d, mo, y = int(m[1]), MONTHS[m[2].lower()], int(m[3])
    try:
        return datetime.date(y, mo, d)
    except ValueError:
        return None


def yesno(v):
    if blank(v):
        return None
    t = str(v).strip().lower()
    if t in ('yes', 'y', 'true', 'on'):
        return 'Yes'
    if t in ('no', 'n', 'false'):
        return 'No'
    return 'INVALID'


def nhs_digits(s):
    t = re.sub(r'[\s-]', '', s)
    return t


def nhs_valid(s):
    t = nhs_digits(s)
    if not re.fullmatch(r'\d{10}', t):
        return False
    tot = sum(int(t[i]) * (10 - i) for i in range(9))
    c = 11 - tot % 11
    if c == 11:
        c = 0
    if c == 10:
        return False
    return c == int(t[9])


def postcode_valid(s):
    return re.fullmatch(r'[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}', s.strip().upper()) is not None


def email_valid(s):
    return re.fullmatch(r'[^@\s]+@[^@\s]+\.[^@\s.]+', s.strip()) is not None


def age_on(dob, d):
    return d.year - dob.year - ((d.month, d.day) < (dob.month, dob.day))


def norm_name(s):
    s = unicodedata.normalize('NFKD', s)
    s = ''.join(c for c in s if not unicodedata.combining(c))
    return ' '.join(s.lower().split())


def evaluate(ref, con, today=datetime.date(2026, 11, 25)):
    must = []
    fields = {}

    def add(code):
        if code not in must:
            must.append(code)

    def getr(f):
        return (ref.get(f) or '') if ref else ''

    def getc(f):
        return (con.get(f) or '') if con else ''

    def check_date(form_get, f, required=True):
        v = form_get(f)
        if blank(v):
            if required:
                add('missing_field:' + f)
            return None
        d = parse_date(v)
        if d is None:
            add('invalid_field:' + f)
            return None
        if d > today:
            add('date_in_future:' + f)
        return d

    ref_date = dob = None
    if ref is None:
        add('missing_referral_form')
    else:
        for f in REF_REQUIRED:
            if blank(getr(f)):
                add('missing_field:' + f)
        ref_date = check_date(getr, 'referral_date')
        dob = check_date(getr, 'cyp_dob')
        if ref_date and ref_date <= today:
            fields['referral_date'] = ref_date.isoformat()
        if dob and dob <= today:
            fields['cyp_dob'] = dob.isoformat()
        for f in ('cyp_first_names', 'cyp_surname'):
            if not blank(getr(f)):
                fields[f] = getr(f).strip()
        nhs = getr('cyp_nhs_number')
        if not blank(nhs):
            if not nhs_valid(nhs):
                add('invalid_nhs_number')
            else:
                fields['cyp_nhs_number'] = nhs_digits(nhs)
        for f, opts in (('cyp_gender', GENDERS), ('cyp_living_situation', LIVING),
                        ('rag_rating', RAG)):
            v = getr(f)
            if not blank(v) and v.strip() not in opts:
                add('invalid_field:' + f)
        if not blank(getr('cyp_postcode')) and not postcode_valid(getr('cyp_postcode')):
            add('invalid_field:cyp_postcode')
        if not blank(getr('referrer_email')) and not email_valid(getr('referrer_email')):
            add('invalid_field:referrer_email')
        ld = yesno(getr('dx_learning_disability'))
        au = yesno(getr('dx_autism'))
        risk = yesno(getr('mh_high_risk_admission'))
        for f, v in (('dx_learning_disability', ld), ('dx_autism', au),
                     ('mh_high_risk_admission', risk), ('parent_has_pr', yesno(getr('parent_has_pr')))):
            if v == 'INVALID':
                add('invalid_field:' + f)
        if (ld == 'Yes' or au == 'Yes') and blank(getr('dx_details')):
            add('missing_field:dx_details')
        if all(blank(getr(f)) for f in ('svc_health', 'svc_education', 'svc_social_care')):
            add('missing_field:svc_*')
        if getr('rag_rating').strip() == 'Blue':
            bad = False
            if blank(getr('inpatient_hospital')):
                add('missing_field:inpatient_hospital')
                bad = True
            if blank(getr('admission_date')):
                add('missing_field:admission_date')
                bad = True
            else:
                check_date(getr, 'admission_date')
            if bad:
                add('blue_without_admission')
        # rule 3 / 4
        if dob and ref_date and age_on(dob, ref_date) >= 18:
            add('age_18_or_over')
        if ld == 'No' and au == 'No':
            add('not_eligible_diagnosis')
        if risk == 'No':
            add('not_eligible_risk')

    if con is None:
        add('missing_consent_form')
    else:
        if blank(getc('cyp_full_name')):
            add('missing_field:cyp_full_name')
        cdob = None
        if blank(getc('cyp_dob')):
            add('missing_field:cyp_dob')
        else:
            cdob = parse_date(getc('cyp_dob'))
            if cdob is None:
                add('invalid_field:cyp_dob')
            elif cdob > today:
                add('date_in_future:cyp_dob')
        cnhs = getc('cyp_nhs_number')
        if not blank(cnhs) and not nhs_valid(cnhs):
            add('invalid_nhs_number|consent_mismatch')
        # match with the referral
        if ref is not None:
            mismatch = False
            cn = getc('cyp_full_name')
            if not blank(cn) and not blank(getr('cyp_first_names')) and not blank(getr('cyp_surname')):
                names = {norm_name(getr('cyp_first_names') + ' ' + getr('cyp_surname'))}
                if not blank(getr('cyp_known_as')):
                    names.add(norm_name(getr('cyp_known_as') + ' ' + getr('cyp_surname')))
                if norm_name(cn) not in names:
                    mismatch = True
            if cdob and dob and cdob != dob:
                mismatch = True
            rn = getr('cyp_nhs_number')
            if not blank(cnhs) and not blank(rn) and nhs_valid(cnhs) and nhs_valid(rn) \
                    and nhs_digits(cnhs) != nhs_digits(rn):
                mismatch = True
            if mismatch:
                add('consent_mismatch')
        basis = getc('consent_basis').strip()
        if blank(basis):
            add('missing_field:consent_basis')
        elif basis not in (BASIS_SELF, BASIS_PR, BASIS_BID):
            add('invalid_field:consent_basis')
        if not blank(basis):
            fields['consent_basis'] = basis
        cap = getc('yp_has_capacity').strip()
        if not blank(cap) and cap not in CAPACITY:
            add('invalid_field:yp_has_capacity')
        given = yesno(getc('consent_given'))
        fs = yesno(getc('factsheet_given'))
        if given == 'INVALID':
            add('invalid_field:consent_given')
        if fs == 'INVALID':
            add('invalid_field:factsheet_given')
        bid = basis == BASIS_BID
        if not bid:
            if given is None:
                add('missing_field:consent_given')
            elif given == 'No':
                add('consent_not_given')
        if fs is None:
            add('missing_field:factsheet_given')
        elif fs == 'No':
            add('factsheet_not_given')
        sdate = None
        if not bid:
            for f in ('signatory_name', 'signatory_relationship', 'signature'):
                if blank(getc(f)):
                    add('missing_field:' + f)
            sdate = check_date(getc, 'signed_date')
            base_dob = dob or cdob
            # judged only against a DOB that is itself valid (a future DOB is already reported)
            if sdate and base_dob and base_dob <= today and sdate < base_dob:
                add('*signed_date*')
        else:
            for f in ('bid_decision_maker', 'bid_role', 'bid_reason'):
                if blank(getc(f)):
                    add('missing_field:' + f)
            check_date(getc, 'bid_date')
            add('best_interest_decision')
        # age-dependent consent rules
        base_dob = dob or cdob
        age_ref = age_on(base_dob, ref_date) if (base_dob and ref_date) else None
        age_sig = age_on(base_dob, sdate) if (base_dob and sdate) else None
        ages = [a for a in (age_ref, age_sig) if a is not None]
        over16_ref = age_ref is not None and age_ref >= 16
        if over16_ref and blank(cap):
            add('missing_field:yp_has_capacity')
        if basis == BASIS_SELF:
            if any(a < 16 for a in ages):
                add('consent_self_under_16')
            elif ages and cap in ('No', 'Not assessed'):
                add('consent_self_without_capacity')
        elif basis == BASIS_PR:
            # FORMS.md names capacity only ("has capacity"); the project
            # reads "Not assessed" as the Mental Capacity Act's presumption
            # of capacity from 16 (docs/forms.md, rule 5): parental consent
            # stands only when the form says the young person lacks it.
            if any(a >= 16 for a in ages) and cap in ('Yes', 'Not assessed'):
                add('consent_parent_for_capable_16_plus')
            hp = yesno(getc('signatory_has_pr'))
            if hp is None:
                add('missing_field:signatory_has_pr')
            elif hp == 'No':
                add('consent_signatory_without_pr')
            elif hp == 'INVALID':
                add('invalid_field:signatory_has_pr')

    codes = set()
    for m in must:
        for alt in m.split('|'):
            codes.add(alt.split(':')[0].strip('*'))
    if codes & IGNORE_CODES:
        outcome = 'ignore'
    elif codes & REVIEW_CODES:
        outcome = 'review'
    elif must:
        outcome = 'query'
    else:
        outcome = 'register'
    return {'outcome': outcome, 'must': must, 'fields': fields}


if __name__ == '__main__':
    import json, sys
    d = json.load(open(sys.argv[1]))
    print(json.dumps(evaluate(d.get('referral'), d.get('consent')), indent=1))
