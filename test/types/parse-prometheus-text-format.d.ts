/**
 * Types for parse-prometheus-text-format 1.1 (it ships none): the Prometheus text exposition
 * format parsed into families in the shape prom2json prints. Values stay strings as written.
 * Beware: 1.1.1 folds every label set of a histogram (or summary) family into one sample without
 * labels; read labelled histograms with their TYPE line changed to untyped (their _bucket, _sum
 * and _count lines then come out as untyped families with labels).
 */
declare module 'parse-prometheus-text-format' {
  export type PrometheusLabels = Readonly<Record<string, string>>;

  /** A counter, gauge or untyped sample. */
  export interface PrometheusValueSample {
    readonly value: string;
    readonly labels?: PrometheusLabels;
  }

  export interface PrometheusHistogramSample {
    /** Upper bound ("0.05", "+Inf") -> cumulative count. */
    readonly buckets: Readonly<Record<string, string>>;
    readonly count: string;
    readonly sum: string;
    readonly labels?: PrometheusLabels;
  }

  export interface PrometheusSummarySample {
    readonly quantiles: Readonly<Record<string, string>>;
    readonly count: string;
    readonly sum: string;
    readonly labels?: PrometheusLabels;
  }

  export type PrometheusFamily =
    | { readonly name: string; readonly help: string; readonly type: 'COUNTER' | 'GAUGE' | 'UNTYPED'; readonly metrics: readonly PrometheusValueSample[] }
    | { readonly name: string; readonly help: string; readonly type: 'HISTOGRAM'; readonly metrics: readonly PrometheusHistogramSample[] }
    | { readonly name: string; readonly help: string; readonly type: 'SUMMARY'; readonly metrics: readonly PrometheusSummarySample[] };

  /** Throws on a line that is not in the format. */
  export default function parsePrometheusTextFormat(text: string): PrometheusFamily[];
}
