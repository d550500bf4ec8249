"""The online template miner for log lines (the Loghub benchmark's profile, `profile.LOGS`).

For each line, inside its partition (token count and first word, as in Drain's tree):
1. Known templates first: a template that matches the line exactly takes it; the most specific wins.
2. Otherwise compare it word by word with each template of the partition and join the one that keeps
   the most constant words, if enough are kept; the template is refined and its cluster id stays.
3. Otherwise the line starts a new cluster.
What only log lines need (lines of other token counts, sibling words) lives in `log_lines.py`.
"""

from __future__ import annotations

from r4u_proxy.grouping.align import Alignment, align, initial_template
from r4u_proxy.grouping.clusters import Cluster, Event, most_specific
from r4u_proxy.grouping.log_lines import LogLines
from r4u_proxy.grouping.profile import LOGS, Profile
from r4u_proxy.grouping.template import Template


class LogMiner(LogLines):
    def __init__(self, profile: Profile = LOGS) -> None:
        self.profile = profile
        self.clusters: dict[int, Cluster] = {}
        self._partitions: dict[str, list[int]] = {}
        self._next_id = 1
        self.events: list[Event] = []
        self._siblings: dict[tuple[str, ...], set[int]] = {}
        # Log lines: clusters by first word across all token counts, for lines whose variables span words.
        self._by_first: dict[str, list[int]] = {}
        self._spanning: dict[str, list[int]] = {}  # the subset of those whose variables span words
        self._sibling_keys: dict[int, list[tuple[str, ...]]] = {}

    # --- state ---------------------------------------------------------------------------
    def restore(self, cluster_id: int, partition: str, template: Template, count: int) -> None:
        """Re-create a cluster known from an earlier run (ids stay what they were)."""
        cluster = Cluster(cluster_id, partition, template, count)
        while cluster.next_checkpoint <= count:
            cluster.next_checkpoint *= 2
        self.clusters[cluster_id] = cluster
        self._partitions.setdefault(self._partition_key(partition, template.skeleton()), []).append(cluster_id)
        self._next_id = max(self._next_id, cluster_id + 1)

    def take_events(self) -> list[Event]:
        events, self.events = self.events, []
        return events

    def _partition_key(self, partition: str, text: str, tokens: list[str] | None = None) -> str:
        if not self.profile.one_token_variables:
            return partition
        # Log lines: only lines with the same number of tokens and the same first word can share a
        # template (as in Drain's tree: the first word of a log line is nearly always constant).
        tokens = tokens if tokens is not None else self.profile.tokenize(text)
        first = self.profile.key(tokens[0]) if tokens else ""
        return f"{partition}#{len(tokens)}#{first}"

    def _new_cluster(self, partition: str, key: str, template: Template) -> Cluster:
        cluster = Cluster(self._next_id, partition, template)
        self._next_id += 1
        self.clusters[cluster.id] = cluster
        self._partitions.setdefault(key, []).append(cluster.id)
        return cluster

    def _remove(self, cluster: Cluster) -> None:
        self._unindex_siblings(cluster.id)
        del self.clusters[cluster.id]
        for index in (self._partitions, self._by_first, self._spanning):
            for ids in index.values():
                if cluster.id in ids:
                    ids.remove(cluster.id)

    # --- matching ------------------------------------------------------------------------
    def match(self, partition: str, text: str) -> tuple[int, list[str]] | None:
        """The most specific known template that fits `text` exactly, without learning anything."""
        text = self.profile.normalize(text)
        return self._match_in(self._partition_key(partition, text), text)

    def _match_in(self, key: str, text: str) -> tuple[int, list[str]] | None:
        one_token = self.profile.one_token_variables
        candidates = list(self._partitions.get(key, ()))
        if one_token:
            candidates += self._spanning.get(self._first_key(key), ())
        return most_specific(self.clusters, candidates, text, one_token=one_token)

    def add(self, partition: str, text: str) -> tuple[int, list[str]]:
        """Assign `text` to a cluster, learning from it; returns the cluster id and the variable values."""
        text = self.profile.normalize(text)
        tokens = self.profile.tokenize(text) if self.profile.one_token_variables else None
        key = self._partition_key(partition, text, tokens)
        found = self._match_in(key, text)
        if found is not None:
            cluster = self.clusters[found[0]]
            self._count(cluster, text)
            return found

        best: tuple[tuple[float, float], Cluster, Alignment] | None = None
        for cluster_id in list(self._partitions.get(key, [])):
            cluster = self.clusters[cluster_id]
            alignment = align(cluster.template, text, self.profile, tokens)
            if alignment is None or not self._accepts(cluster, alignment):
                continue
            score = (alignment.anchored, alignment.kept)
            if best is None or score > best[0]:
                best = (score, cluster, alignment)

        if best is None and self.profile.one_token_variables:
            best = self._best_across_lengths(key, text, tokens)
        if best is None:
            cluster = self._new_cluster(partition, key, initial_template(text, self.profile))
            if self.profile.one_token_variables:
                self._by_first.setdefault(self._first_key(key), []).append(cluster.id)
        elif best[2].spans and not best[1].spans:
            cluster = best[1]
            cluster.spans = True
            self._spanning.setdefault(self._first_key(key), []).append(cluster.id)
            for ids in self._partitions.values():
                if cluster.id in ids:
                    ids.remove(cluster.id)
            self._unindex_siblings(cluster.id)
            cluster = self._refine(cluster, best[2].template)
        else:
            cluster = self._refine(best[1], best[2].template)
        if self.profile.fold_siblings and not cluster.spans:
            cluster = self._index_siblings(cluster, key)
        values = cluster.template.match(text, one_token=self.profile.one_token_variables and not cluster.spans)
        if values is None:  # the glob's leftmost choice can differ from the alignment's; keep it literal
            cluster = self._new_cluster(partition, key, Template.literal(text))
            values = []
        self._count(cluster, text)
        return cluster.id, values

    def _accepts(self, cluster: Cluster, alignment: Alignment) -> bool:
        denominator = max(alignment.template_content, alignment.text_content)
        return denominator > 0 and alignment.anchored / denominator >= self.profile.min_kept

    def _refine(self, cluster: Cluster, template: Template) -> Cluster:
        """Give the cluster its new template; returns the cluster that survives convergence."""
        if template == cluster.template:
            return cluster
        old = cluster.template
        cluster.template = template
        self.events.append(Event("refined", cluster.id, old))
        return self._merge_converged(cluster)

    def _merge_converged(self, cluster: Cluster) -> Cluster:
        """Fold every other cluster of the partition whose template this one now covers; the older
        id survives (with the covering template). Returns the surviving cluster."""
        one_token = self.profile.one_token_variables
        ids = next((ids for ids in self._partitions.values() if cluster.id in ids), [])
        for other_id in list(ids):
            other = self.clusters.get(other_id)
            if other is None or other is cluster:
                continue
            if cluster.template.match(other.template.skeleton(), one_token=one_token) is None:
                continue
            keeper, gone = (other, cluster) if other.id < cluster.id else (cluster, other)
            if keeper is other:
                self.events.append(Event("refined", keeper.id, keeper.template))
                keeper.template = cluster.template
            keeper.count += gone.count
            keeper.samples.extend(gone.samples)
            self._remove(gone)
            self.events.append(Event("merged", gone.id, gone.template, into=keeper.id))
            cluster = keeper
        return cluster

    def _count(self, cluster: Cluster, text: str) -> None:
        cluster.count += 1
