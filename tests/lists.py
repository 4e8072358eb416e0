"""Synthetic caseload lines shared by upload tests (RUNs in a range no person has)."""

from __future__ import annotations

HEADER = "RUN;Nombres;Apellidos;Fecha Nacimiento;RBD;Curso;% Asistencia;Dirección;Comuna\r\n"
SYNTHETIC_ROWS = (
    "90.000.001-4;Aurora;Sintética Uno;07/03/2012;8001;7° básico;40;Sector Pid Pid s/n;Castro\r\n",
    "90.000.002-2;Bruno;Sintético Dos;01/06/2011;8001;8° básico;60;Pob. Gamboa;Castro\r\n",
    "90.000.003-0;Clara;Sintética Tres;01/06/2011;8169;8° básico;45;Sector Huyar Alto;"
    "Curaco de Vélez\r\n",
    "90.000.004-9;Diego;Sintético Cuatro;01/06/2010;8169;1° medio;30;Huyar Bajo;"
    "Curaco de Vélez\r\n",
)
