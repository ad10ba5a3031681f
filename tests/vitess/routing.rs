//! How Vitess would route a statement under `deploy/vitess/vschema.json`: to one shard (through
//! the table's primary vindex or a lookup vindex), to every shard (scatter), to the unsharded
//! keyspace, or nowhere (no table); and which statements it could not run well at all.

use std::collections::BTreeMap;
use std::ops::ControlFlow;

use serde::Deserialize;
use sqlparser::ast::{
    BinaryOperator, Expr, ObjectName, OnInsert, SetExpr, Statement, TableFactor, TableObject,
};
use sqlparser::dialect::MySqlDialect;
use sqlparser::parser::Parser;

/// The VSchema file: keyspace name to keyspace.
#[derive(Debug, Deserialize)]
pub struct VSchema {
    pub keyspaces: BTreeMap<String, Keyspace>,
}

#[derive(Debug, Deserialize)]
pub struct Keyspace {
    pub sharded: bool,
    #[serde(default)]
    pub vindexes: BTreeMap<String, Vindex>,
    pub tables: BTreeMap<String, Table>,
}

#[derive(Debug, Deserialize)]
pub struct Vindex {
    #[serde(rename = "type")]
    pub kind: String,
    pub owner: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Table {
    #[serde(default)]
    pub column_vindexes: Vec<ColumnVindex>,
}

#[derive(Debug, Deserialize)]
pub struct ColumnVindex {
    pub column: String,
    pub name: String,
}

/// Where a statement goes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Route {
    /// No table: session settings, `SELECT 1`.
    NoTable,
    /// A table of an unsharded keyspace.
    Unsharded,
    /// One shard, found through the named vindex.
    OneShard(String),
    /// A write whose rows may go to several shards (a multi-row insert).
    RowsToTheirShards,
    /// Every shard, results merged by the router.
    Scatter,
}

impl VSchema {
    pub fn load(path: &std::path::Path) -> Self {
        let text = std::fs::read_to_string(path).unwrap();
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// The keyspace and table definition of `table`, if the VSchema has it.
    fn table(&self, table: &str) -> Option<(&Keyspace, &Table)> {
        self.keyspaces
            .values()
            .find_map(|keyspace| keyspace.tables.get(table).map(|t| (keyspace, t)))
    }

    /// Checks the VSchema itself: every sharded table has a primary vindex that exists, and
    /// every lookup vindex is owned by a table that uses it.
    pub fn check(&self) -> Result<(), String> {
        for (name, keyspace) in &self.keyspaces {
            if !keyspace.sharded {
                continue;
            }
            for (table_name, table) in &keyspace.tables {
                let Some(primary) = table.column_vindexes.first() else {
                    return Err(format!("{name}.{table_name} has no primary vindex"));
                };
                for vindex in &table.column_vindexes {
                    if !keyspace.vindexes.contains_key(&vindex.name) {
                        return Err(format!("{table_name}: no vindex named {}", vindex.name));
                    }
                }
                let kind = &keyspace.vindexes[&primary.name].kind;
                if kind.contains("lookup") {
                    return Err(format!("{table_name}: a lookup vindex cannot be primary"));
                }
            }
            for (vindex_name, vindex) in &keyspace.vindexes {
                if let Some(owner) = &vindex.owner {
                    let used = keyspace.tables.get(owner).is_some_and(|table| {
                        table.column_vindexes.iter().any(|v| &v.name == vindex_name)
                    });
                    if !used {
                        return Err(format!(
                            "{vindex_name} is owned by {owner}, which does not use it"
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// Where `sql` goes, or why Vitess could not run it as Twooter needs.
    pub fn route(&self, sql: &str) -> Result<Route, String> {
        // Session settings (the driver's `SET sql_mode=…, time_zone=…, NAMES utf8mb4` on every
        // connection) are kept by vtgate for the session; they touch no table.
        let keyword = sql.split_whitespace().next().unwrap_or_default();
        if keyword.eq_ignore_ascii_case("SET") {
            return Ok(Route::NoTable);
        }
        let statements = Parser::parse_sql(&MySqlDialect {}, sql)
            .map_err(|e| format!("does not parse as MySQL: {e}"))?;
        let mut routes = Vec::new();
        for statement in &statements {
            routes.push(self.route_one(statement)?);
        }
        Ok(routes.into_iter().max().unwrap_or(Route::NoTable))
    }

    fn route_one(&self, statement: &Statement) -> Result<Route, String> {
        let tables = tables_of(statement);
        if tables.is_empty() {
            return Ok(Route::NoTable);
        }
        let mut sharded = Vec::new();
        for table in &tables {
            let (keyspace, definition) = self
                .table(table)
                .ok_or_else(|| format!("table {table} is not in the VSchema"))?;
            if keyspace.sharded {
                sharded.push((table.as_str(), keyspace, definition));
            }
        }
        match sharded.as_slice() {
            [] => Ok(Route::Unsharded),
            [_] if sharded.len() < tables.len() => {
                Err("mixes a sharded and an unsharded table".to_owned())
            }
            [(name, keyspace, table)] => route_sharded(statement, name, keyspace, table),
            _ => Err("reads or writes several sharded tables at once".to_owned()),
        }
    }
}

fn route_sharded(
    statement: &Statement,
    name: &str,
    keyspace: &Keyspace,
    table: &Table,
) -> Result<Route, String> {
    let primary = &table.column_vindexes[0];
    match statement {
        Statement::Query(query) => {
            let SetExpr::Select(select) = query.body.as_ref() else {
                return Err("a set operation on a sharded table".to_owned());
            };
            if select.from.iter().any(|from| !from.joins.is_empty()) {
                return Err("a join on a sharded table".to_owned());
            }
            let equal = equalities(select.selection.as_ref());
            for vindex in &table.column_vindexes {
                if equal.contains(&vindex.column) {
                    return Ok(Route::OneShard(vindex.name.clone()));
                }
            }
            Ok(Route::Scatter)
        }
        Statement::Insert(insert) => {
            let columns: Vec<String> = insert.columns.iter().map(|c| c.value.clone()).collect();
            // Vitess computes the shard from the primary vindex column and fills every owned
            // lookup vindex from its column, so each must be in the insert.
            for vindex in &table.column_vindexes {
                let owned = keyspace.vindexes[&vindex.name].owner.as_deref() == Some(name);
                if (vindex.name == primary.name || owned) && !columns.contains(&vindex.column) {
                    return Err(format!("inserts into {name} without {}", vindex.column));
                }
            }
            if let Some(OnInsert::DuplicateKeyUpdate(assignments)) = &insert.on {
                for assignment in assignments {
                    let target = assignment.target.to_string();
                    if table.column_vindexes.iter().any(|v| v.column == target) {
                        return Err(format!(
                            "ON DUPLICATE KEY UPDATE changes vindex column {target}"
                        ));
                    }
                }
            }
            let rows = match insert.source.as_ref().map(|source| source.body.as_ref()) {
                Some(SetExpr::Values(values)) => values.rows.len(),
                _ => return Err("INSERT ... SELECT into a sharded table".to_owned()),
            };
            Ok(if rows == 1 {
                Route::OneShard(primary.name.clone())
            } else {
                Route::RowsToTheirShards
            })
        }
        Statement::Update {
            selection,
            assignments,
            ..
        } => {
            for assignment in assignments {
                let target = assignment.target.to_string();
                if table.column_vindexes.iter().any(|v| v.column == target) {
                    return Err(format!("UPDATE changes vindex column {target}"));
                }
            }
            one_shard_write(table, selection.as_ref())
        }
        Statement::Delete(delete) => one_shard_write(table, delete.selection.as_ref()),
        other => Err(format!("{other} on a sharded table")),
    }
}

/// A write that names its primary vindex value goes to one shard; any other would scatter.
fn one_shard_write(table: &Table, selection: Option<&Expr>) -> Result<Route, String> {
    let primary = &table.column_vindexes[0];
    if equalities(selection).contains(&primary.column) {
        Ok(Route::OneShard(primary.name.clone()))
    } else {
        Err(format!("a write that does not name its {}", primary.column))
    }
}

/// The tables a statement reads or writes, subqueries included.
fn tables_of(statement: &Statement) -> Vec<String> {
    let mut tables = Vec::new();
    let _ = sqlparser::ast::visit_relations(statement, |relation: &ObjectName| {
        tables.push(last_part(relation));
        ControlFlow::<()>::Continue(())
    });
    if let Statement::Insert(insert) = statement {
        if let TableObject::TableName(name) = &insert.table {
            tables.push(last_part(name));
        }
    }
    if let Statement::Update { table, .. } = statement {
        if let TableFactor::Table { name, .. } = &table.relation {
            tables.push(last_part(name));
        }
    }
    tables.sort();
    tables.dedup();
    tables
}

fn last_part(name: &ObjectName) -> String {
    name.to_string()
        .rsplit('.')
        .next()
        .unwrap_or_default()
        .trim_matches('`')
        .to_owned()
}

/// Columns compared for equality with a value in the top-level conjunction of `selection`.
fn equalities(selection: Option<&Expr>) -> Vec<String> {
    let mut columns = Vec::new();
    let mut pending: Vec<&Expr> = selection.into_iter().collect();
    while let Some(expr) = pending.pop() {
        match expr {
            Expr::BinaryOp {
                left,
                op: BinaryOperator::And,
                right,
            } => {
                pending.push(left);
                pending.push(right);
            }
            Expr::BinaryOp {
                left,
                op: BinaryOperator::Eq,
                right,
            } => {
                for (column, value) in [(left, right), (right, left)] {
                    if let (Expr::Identifier(ident), Expr::Value(_)) =
                        (column.as_ref(), value.as_ref())
                    {
                        columns.push(ident.value.clone());
                    }
                }
            }
            Expr::Nested(inner) => pending.push(inner),
            _ => {}
        }
    }
    columns
}
