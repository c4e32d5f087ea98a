#!/usr/bin/env perl
# Prints, for each bounce named, what sisimai (https://github.com/sisimai/p5-sisimai,
# BSD-2-Clause), a library built on thousands of real bounces, reads in it: one
# JSON line {"file": NAME, "facts": [{"action", "messageid", "reason", "status"}]},
# a fact per recipient. It is the peer for the parser's reading of bounces
# (Submission.Undelivered); testdata/thirdparty/dsn/sisimai-verdicts.jsonl is its
# output for the committed bounces, and `make compat` runs it over sisimai's whole
# set when a checkout of p5-sisimai is there.
#
#   perl -I/path/to/p5-sisimai/lib scripts/compat/sisimai_verdicts.pl FILE.eml...
#
# Needs Perl's JSON and Class::Accessor::Lite (Debian: libjson-perl,
# libclass-accessor-lite-perl).
use strict;
use warnings;
use File::Basename qw(basename);
use JSON;
use Sisimai;

my $js = JSON->new->canonical;
for my $file (@ARGV) {
    my $facts = eval { Sisimai->rise($file) } // [];
    my @out = map {
        {
            action    => "" . ($_->action // ""),
            messageid => "" . ($_->messageid // ""),
            reason    => "" . ($_->reason // ""),
            status    => "" . ($_->deliverystatus // ""),
        }
    } @$facts;
    print $js->encode({file => basename($file), facts => \@out}), "\n";
}
