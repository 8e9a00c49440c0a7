# -*- coding: utf-8 -*-
# Copyright: pii_guard.safeguards contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure logic of the bulk-download alert agent (clause 6-5), shipped to endpoints as this
directory next to the agent (roles/download_alert), where it runs on Debian 12's python3 with
the standard library only, plus python3-jmespath for ``jsonlog`` data sets. Nothing here does
I/O beyond what a caller passes in, except ``forward`` (the syslog channel's spool and socket);
modules import each other relatively, so the package works both inside the collection and as
a plain directory on an endpoint.

  config            settings, validation, defaults, escaping and the alert sentence
  window            the sliding windows per (data set, user), with the memory budget
  sources.audit     auditd records -> file reads
  sources.pgaudit   pgaudit entries (PostgreSQL jsonlog or the free-text stderr log) -> rows
  sources.jsonlog   JSON-lines application logs -> counts (JMESPath)
  forward           alerts as RFC 5424 syslog over TCP/TLS through a bounded on-disk spool

Alert semantics (per data set and user):
  * the count at time t is the number of records in the window (t - window, t]; for the
    ``audit`` source a record is a distinct file (dev:inode), for ``pgaudit`` and ``jsonlog``
    it is the row / record count the log line carries;
  * when the count reaches the threshold ("at least a certain number", 一定数以上) one alert
    is raised and the key is disarmed;
  * it is re-armed only once the window has drained below the threshold again, so a bulk
    export raises one alert, not one per event.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type
