// Durations are stored in seconds and entered in friendlier units.

export const durationUnits = ['minutes', 'hours', 'days'] as const
export type DurationUnit = (typeof durationUnits)[number]

export const secondsPer: Record<DurationUnit, number> = { minutes: 60, hours: 3600, days: 86400 }

export interface Duration {
  value: number
  unit: DurationUnit
}

/** The largest unit that shows `seconds` as a whole number (minutes as a fallback, possibly fractional). */
export function fromSeconds(seconds: number): Duration {
  for (const unit of [...durationUnits].reverse()) {
    if (seconds !== 0 && seconds % secondsPer[unit] === 0) return { value: seconds / secondsPer[unit], unit }
  }
  return { value: Math.round((seconds / 60) * 100) / 100, unit: 'minutes' }
}

/** Whole seconds for a value in a unit (an empty value counts as 0). */
export function toSeconds(value: number | null | undefined, unit: DurationUnit): number {
  if (value === null || value === undefined || !Number.isFinite(value)) return 0
  return Math.round(value * secondsPer[unit])
}
