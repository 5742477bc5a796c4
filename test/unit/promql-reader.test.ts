import { describe, expect, it } from 'vitest'
import {
  familyOf,
  legendLabels,
  readExposition,
  readLabelValuesQuery,
  readPromql,
} from '../helpers/promql.js'

// The observability tests are only as good as this reader: a metric it misses is a metric never checked.
describe('readPromql', () => {
  it('finds every series with its matchers, and no function, keyword, label or number', () => {
    const use = readPromql(
      'histogram_quantile(0.99, sum by (job, le) (rate(a_bucket{route="/x", job=~"$job"}[$__rate_interval]))) > 1 ' +
        'and on (job) max by (job) (b{state!="closed"}) == 0 unless c offset 5m or vector(0)',
    )
    expect(use.selectors).toEqual([
      {
        metric: 'a_bucket',
        matchers: [
          { label: 'route', op: '=', value: '/x' },
          { label: 'job', op: '=~', value: '$job' },
        ],
      },
      { metric: 'b', matchers: [{ label: 'state', op: '!=', value: 'closed' }] },
      { metric: 'c', matchers: [] },
    ])
    expect(use.grouping).toEqual(['job', 'le', 'job', 'job'])
    expect(use.aggregates).toBe(true)
  })

  it('reads group_left, ignoring and a selector by __name__; a bare selector does not aggregate', () => {
    const use = readPromql('x / ignoring (outcome) group_left () {__name__="y", a="1"}')
    expect(use.selectors.map((s) => s.metric)).toEqual(['x', 'y'])
    expect(use.selectors[1]?.matchers).toEqual([{ label: 'a', op: '=', value: '1' }])
    expect(use.grouping).toEqual(['outcome'])
    expect(readPromql('up{job="consent-gate"} == 0').aggregates).toBe(false)
  })

  it('refuses what it cannot read instead of skipping it', () => {
    expect(() => readPromql('x{a=1}')).toThrow()
    expect(() => readPromql('x # y')).toThrow()
  })
})

describe('Grafana variable queries and legends', () => {
  it('reads label_values(selector, label) and {{label}} templates', () => {
    const { use, label } = readLabelValuesQuery('label_values(m{job=~"$job"}, instance)')
    expect(label).toBe('instance')
    expect(use.selectors[0]?.metric).toBe('m')
    expect(legendLabels('{{kind}} {{ result }} x')).toEqual(['kind', 'result'])
  })
})

describe('readExposition', () => {
  it('knows families by type, a histogram by its suffixes, and the label values of samples', () => {
    const e = readExposition(
      '# TYPE h histogram\nh_bucket{le="1",route="/a"} 1\nh_sum 2\nh_count{route="/a"} 1\n# TYPE c counter\nc{r="x"} 1\n',
    )
    expect(['h_bucket', 'h_sum', 'h_count', 'h', 'c'].map((n) => familyOf(e, n))).toEqual([
      'h',
      'h',
      'h',
      'h',
      'c',
    ])
    expect(familyOf(e, 'c_bucket')).toBeUndefined()
    expect([...(e.labels.get('c')?.get('r') ?? [])]).toEqual(['x'])
  })
})
