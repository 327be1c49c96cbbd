// The clinics a principal's scope covers, by name: the one query behind every list of clinics a caller
// is shown (the dashboard's clinic filters and forms, `GET /api/clinics`). The scope itself is decided
// in src/auth/scope.ts (`clinicFilter`); this only turns it into SQL, once, so no surface can list a
// clinic that another would refuse.
import type { Db } from '../db/connect';
import { clinicFilter, type Principal } from '../auth/roles';

/** The clinics in the principal's scope, ordered by name; the caller picks the columns. */
export function clinicsInScopeQuery(db: Db, principal: Principal) {
  const ids = clinicFilter(principal);
  const q = db.selectFrom('clinics').orderBy('name');
  if (!ids) return q;
  return ids.length ? q.where('id', 'in', ids) : q.where(({ lit }) => lit(false));
}

/** Id and name of each clinic in the principal's scope, ordered by name (filters and forms). */
export function clinicsInScope(db: Db, principal: Principal) {
  return clinicsInScopeQuery(db, principal).select(['id', 'name']).execute();
}
