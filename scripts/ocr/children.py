#!/usr/bin/env python3
"""The fictional children of the OCR fixtures, and the steps of
scripts/make-ocr-fixtures.sh that need more than a shell line.

Every child, family and professional here is fictional; NHS numbers are
from the 999 test range with a valid check digit.

Usage:
  children.py xfdf CHILD FORM OUT          the form's values as XFDF for pdftk
  children.py expect CASE CHILD HAND OUT [scribble]
        the case's expectations (JSON)
  children.py handwrite TEMPLATE CHILD FORM FONT DPI PREFIX
        writes each value of the form in FONT onto the pages PREFIX-N.png
        (pdftoppm's names for the blank TEMPLATE at DPI), at the boxes of
        the template's fields, and marks the tick boxes with a pen stroke
  children.py scribble TEMPLATE DPI PAGE.png
        draws a signature scribble (bezier strokes) over the consent form's
        signature box
"""
import json
import os
import random
import subprocess
import sys


def nhs(first9):
    """The 10-digit NHS number with its modulus 11 check digit."""
    s = sum(int(d) * w for d, w in zip(first9, range(10, 1, -1)))
    c = 11 - s % 11
    c = 0 if c == 11 else c
    if c == 10:
        raise ValueError(first9 + ' has no valid check digit')
    return first9 + str(c)


def dmy(iso):
    y, m, d = iso.split('-')
    return '%s/%s/%s' % (d, m, y)


# The child of testdata/samples/02-flattened-pdf-happy (its forms are the
# sample's, filled there); the others are filled here from the blank forms.
CHILDREN = {
    'joshua': dict(first='Joshua', surname='Okoro', dob='2011-08-08', nhs='9995628198', rag='Red'),
    'amara': dict(first='Amara', surname='Okafor-Lewis', dob='2010-03-17', nhs=nhs('999401275'), rag='Amber',
                  referral_date='2026-11-21', gender='Female', parent='Grace Okafor-Lewis', rel='Mother',
                  address='12 Elmfield Road', postcode='BR1 1LR', gp='Elmfield Medical Centre'),
    'ethan': dict(first='Ethan', surname='Whitmore', dob='2014-12-02', nhs=nhs('999263514'), rag='Green',
                  referral_date='2026-11-22', gender='Male', parent='Daniel Whitmore', rel='Father',
                  address='7 Crescent Way', postcode='BR6 9LS', gp='Knoll Medical Practice'),
    'sofia': dict(first='Sofia', surname='Marchetti', dob='2009-07-29', nhs=nhs('999587342'), rag='Blue',
                  referral_date='2026-11-23', gender='Female', parent='Paola Marchetti', rel='Mother',
                  address='44 Station Road', postcode='BR3 5HE', gp='Beckenham Medical Group',
                  self_consent=True, hospital='Bethlem Royal Hospital', admitted='2026-11-10'),
    'noah': dict(first='Noah', surname='Baptiste', dob='2012-05-14', nhs=nhs('999732618'), rag='Amber',
                 referral_date='2026-11-20', gender='Male', parent='Marie Baptiste', rel='Mother',
                 address='3 Oak Lane', postcode='BR2 8QT', gp='Oakfield Surgery'),
    'ruby': dict(first='Ruby', surname='Ashworth', dob='2013-09-26', nhs=nhs('999845160'), rag='Red',
                 referral_date='2026-11-19', gender='Female', parent='Helen Ashworth', rel='Mother',
                 address='21 Hill View', postcode='BR7 5AB', gp='Chislehurst Medical Practice'),
}


def values(child, form):
    c = CHILDREN[child]
    full = c['first'] + ' ' + c['surname']
    if form == 'referral':
        v = {
            'referral_date': dmy(c['referral_date']),
            'cyp_first_names': c['first'], 'cyp_surname': c['surname'],
            'cyp_dob': dmy(c['dob']), 'cyp_nhs_number': '%s %s %s' % (c['nhs'][:3], c['nhs'][3:6], c['nhs'][6:]),
            'cyp_gender': c['gender'], 'cyp_ethnicity': 'Prefer not to say', 'cyp_first_language': 'English',
            'cyp_address': c['address'], 'cyp_postcode': c['postcode'],
            'cyp_living_situation': 'With family', 'cyp_local_authority': 'London Borough of Bromley',
            'cyp_gp_practice': c['gp'],
            'dx_learning_disability': 'No', 'dx_autism': 'Yes',
            'dx_details': 'Autism spectrum condition, Bromley CAMHS 2020',
            'mh_concern': 'Low mood and school refusal since the summer.',
            'mh_high_risk_admission': 'Yes', 'placement_breakdown_risk': 'No',
            'rag_rating': c['rag'], 'rag_reason': 'Escalating distress at home.',
            'svc_health': 'Bromley CAMHS', 'svc_education': 'Local secondary school',
            'needs_health': 'Psychology input.', 'needs_education': 'Reduced timetable.',
            'needs_social_care': 'Early help assessment.',
            'plan_ehcp': 'Yes', 'plan_crisis': 'Yes',
            'parent_name': c['parent'], 'parent_relationship': c['rel'], 'parent_has_pr': 'Yes',
            'parent_phone': '07700 900' + c['nhs'][-3:],
            'referrer_name': 'Dr Sam Adeyemi', 'referrer_role': 'Consultant Psychiatrist',
            'referrer_organisation': 'Bromley CAMHS', 'referrer_email': 'sam.adeyemi@nhs.net',
            'referrer_phone': '020 7946 0' + c['nhs'][-3:],
        }
        if c['rag'] == 'Blue':
            v['inpatient_hospital'] = c['hospital']
            v['admission_date'] = dmy(c['admitted'])
        return v
    v = {
        'cyp_full_name': full, 'cyp_dob': dmy(c['dob']), 'cyp_nhs_number': c['nhs'],
        'consent_given': 'Yes', 'factsheet_given': 'Yes',
        'share_health': 'Yes', 'share_education': 'Yes', 'share_social_care': 'Yes',
        'signed_date': dmy(c['referral_date']),
    }
    if c.get('self_consent'):
        v.update(consent_basis='Young person (16 or over, with capacity)', yp_has_capacity='Yes',
                 signatory_name=full, signatory_relationship='Self', signature=full)
    else:
        v.update(consent_basis='Person with parental responsibility', signatory_name=c['parent'],
                 signatory_relationship=c['rel'], signatory_has_pr='Yes', signature=c['parent'])
    return v


def xfdf(child, form, out):
    from xml.sax.saxutils import escape
    rows = ''.join('<field name="%s"><value>%s</value></field>\n' % (k, escape(v))
                   for k, v in values(child, form).items())
    with open(out, 'w', encoding='utf-8') as f:
        f.write('<?xml version="1.0" encoding="UTF-8"?>\n'
                '<xfdf xmlns="http://ns.adobe.com/xfdf/" xml:space="preserve"><fields>\n'
                + rows + '</fields></xfdf>\n')


def expect(case, child, hand, out, signed='typed'):
    """What the tests expect of a case: the identifying fields as the parser
    gives them (dates ISO, NHS numbers as 10 digits), and whether the values
    were handwritten (then OCR may fail, and the case must go to review).
    A consent signed with a scribble (signed == 'scribble') also names the
    date beside the signature, which the scribble must not stop OCR reading."""
    c = CHILDREN[child]
    fields = {
        'referral': {'cyp_first_names': c['first'], 'cyp_surname': c['surname'], 'cyp_dob': c['dob'],
                     'cyp_nhs_number': c['nhs'], 'rag_rating': c['rag']},
        'consent': {'cyp_full_name': c['first'] + ' ' + c['surname'], 'cyp_dob': c['dob'],
                    'cyp_nhs_number': c['nhs']},
    }
    doc = {'case': case, 'handwritten': hand == 'yes', 'signature': signed, 'fields': fields,
           'note': 'written by scripts/make-ocr-fixtures.sh from scripts/ocr/children.py'}
    if signed == 'scribble':
        doc['beside_signature'] = {'signed_date': c['referral_date']}
    with open(out, 'w') as f:
        json.dump(doc, f, indent=2, ensure_ascii=False)
        f.write('\n')


def widgets(template):
    """Each field widget of the template: (name, page, rect, on-state)."""
    d = json.loads(subprocess.run(['qpdf', '--json=2', template], check=True, capture_output=True).stdout)
    objs = d['qpdf'][1]
    res = []
    for f in d['acroform']['fields']:
        o = objs['obj:' + f['annotation']['object']]['value']
        on = None
        ap = o.get('/AP', {}).get('/N')
        if isinstance(ap, dict):
            on = next((k[1:] for k in ap if k != '/Off'), None)
        res.append((f['fullname'], f['pageposfrom1'], o['/Rect'], on, f['istext'] or f['ischoice']))
    return res


def page_height(template, page):
    out = subprocess.run(['pdfinfo', '-f', str(page), '-l', str(page), template], check=True,
                         capture_output=True, text=True).stdout
    for line in out.splitlines():
        if line.startswith('Page') and 'size:' in line:
            return float(line.split('size:')[1].split()[2])
    raise ValueError('no page size in pdfinfo output')


def handwrite(template, child, form, font, dpi, prefix):
    rnd = random.Random(child + form)
    vals = values(child, form)
    k = float(dpi) / 72
    pages = {}
    for name, page, rect, on, text in widgets(template):
        v = vals.get(name)
        if not v:
            continue
        h = page_height(template, page)
        x0, y0, x1, y1 = rect
        px, py = x0 * k, (h - y1) * k  # top left in pixels
        pw, ph = (x1 - x0) * k, (y1 - y0) * k
        args = pages.setdefault(page, [])
        if text:
            # One line, in blue-black ink, a little off the baseline as a
            # hand writes; the size fills most of the box height.
            line = min(ph, 16 * k)  # the first line of a block
            size = line * 0.85
            rot = rnd.uniform(-1.5, 1.5)  # degrees: a hand does not keep to the line
            args += ['-font', font, '-pointsize', '%.1f' % size, '-fill', '#1a2340',
                     '-annotate', '%.1fx%.1f+%d+%d' % (rot, rot, int(px + 3 * k + rnd.uniform(0, 6)),
                                                       int(py + line * 0.8 + rnd.uniform(-2, 2))), v.replace('\n', ' ')]
        elif on == v:
            # A tick: two strokes of a pen through the box.
            ax, ay = px + pw * 0.15, py + ph * 0.5
            bx, by = px + pw * 0.4, py + ph * 0.85
            cx, cy = px + pw * 0.9, py + ph * 0.05
            args += ['-stroke', '#1a2340', '-strokewidth', '%.1f' % (1.2 * k), '-fill', 'none',
                     '-draw', 'polyline %d,%d %d,%d %d,%d' % (ax, ay, bx, by, cx, cy), '-stroke', 'none']
    for page, args in pages.items():
        png = '%s-%d.png' % (prefix, page)
        # Point sizes are pixels at 72 dpi; the page keeps its own density.
        subprocess.run(['convert', png, '-units', 'PixelsPerInch', '-density', '72'] + args +
                       ['-density', str(dpi), png], check=True)


def scribble(template, dpi, png):
    """A signature: three connected bezier loops with a trailing flourish,
    over the signature box and spilling out of it, as a pen does."""
    k = float(dpi) / 72
    for name, page, rect, on, text in widgets(template):
        if name != 'signature':
            continue
        h = page_height(template, page)
        x0, y0, x1, y1 = rect
        px, py, ph = x0 * k, (h - y1) * k, (y1 - y0) * k
        w = min((x1 - x0) * k, 170 * k)
        base = py + ph * 0.8
        pts = [(px + 4 * k, base)]
        path = 'M %d,%d ' % pts[0]
        for i in range(4):
            x = px + 4 * k + (i + 1) * w / 5
            path += 'C %d,%d %d,%d %d,%d ' % (x - w / 8, base - ph * 1.6, x - w / 5, base + ph * 0.6, x, base - ph * 0.2)
        path += 'Q %d,%d %d,%d' % (px + w * 0.5, base + ph * 0.9, px + w * 0.1, base + ph * 0.3)
        subprocess.run(['convert', png, '-stroke', '#101828', '-strokewidth', '%.1f' % (1.1 * k), '-fill', 'none',
                        '-draw', "path '%s'" % path, png], check=True)
        return
    raise SystemExit('no signature field in ' + template)


def main(argv):
    cmd, args = argv[1], argv[2:]
    {'xfdf': xfdf, 'expect': expect, 'handwrite': handwrite, 'scribble': scribble}[cmd](*args)


if __name__ == '__main__':
    main(sys.argv)
