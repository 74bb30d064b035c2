"""Publishing (what a run leaves to read): the period folder and its lock
(:mod:`.folder`), each report's files and state (:mod:`.reports`), the index
(:mod:`.index`) with its at-a-glance figures (:mod:`.glance`), ``run.json``
(:mod:`.manifest`), uploads to a URL (:mod:`.uploads`), the period's packs
(:mod:`.packs`), and the last mile: who reads which report (:mod:`.recipients`) and
its delivery by email (:mod:`.delivery`) or in per-reader folders (:mod:`.bundles`)."""
